package cwe

import (
	"bytes"
	"testing"
)

// BenchmarkReadFile measures unzipping and parsing the shipped CWE 4.15 catalog.
func BenchmarkReadFile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadFile(catalogZip); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseJSON measures the JSON (cwe-raw.json) form of the 964 weaknesses.
func BenchmarkParseJSON(b *testing.B) {
	c, _ := real(b)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, c.Weaknesses); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
