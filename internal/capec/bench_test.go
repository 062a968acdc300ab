package capec

import (
	"bytes"
	"testing"
)

// BenchmarkParse measures parsing the shipped CAPEC 3.9 catalog.
func BenchmarkParse(b *testing.B) {
	doc, _ := loadDoc(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(doc)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate measures checking the shipped catalog against its XSD.
func BenchmarkValidate(b *testing.B) {
	doc, s := loadDoc(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		vs, err := s.Validate(bytes.NewReader(doc))
		if err != nil || len(vs) != 0 {
			b.Fatal(vs, err)
		}
	}
}
