package rpc

import (
	"encoding/json"
	"testing"
)

var benchLine = []byte(`{"type":"request","id":"RPCGetCVEByID","payload":{"cve_id":"CVE-2021-44228"},"source":"access","target":"local","correlation_id":"access-3f9a1c2e-1k9"}`)

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	var m Message
	for i := 0; i < b.N; i++ {
		if err := Decode(benchLine, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStdlib(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for i := 0; i < b.N; i++ {
		var m Message
		if err := json.Unmarshal(benchLine, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	b.ReportAllocs()
	var m Message
	if err := Decode(benchLine, &m); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	for i := 0; i < b.N; i++ {
		buf = Append(buf[:0], &m)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkEncodeStdlib(b *testing.B) {
	b.ReportAllocs()
	var m Message
	if err := Decode(benchLine, &m); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := json.Marshal(&m); err != nil {
			b.Fatal(err)
		}
	}
}
