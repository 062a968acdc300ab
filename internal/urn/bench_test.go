package urn

import "testing"

var sink URN

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		u, err := Parse("v2e::nvd::cve::CVE-2021-44228")
		if err != nil {
			b.Fatal(err)
		}
		sink = u
	}
}

func BenchmarkParseAttack(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = Parse("v2e::mitre::attack::T1059.001")
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = New(NVD, CVE, "CVE-2021-44228")
	}
}

func BenchmarkString(b *testing.B) {
	u := MustParse("v2e::nvd::cve::CVE-2021-44228")
	b.ReportAllocs()
	var s string
	for b.Loop() {
		s = u.String()
	}
	_ = s
}

func BenchmarkAppendKey(b *testing.B) {
	u := MustParse("v2e::nvd::cve::CVE-2021-44228")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = u.AppendKey(buf[:0])
	}
}

func BenchmarkParseKey(b *testing.B) {
	k := MustParse("v2e::nvd::cve::CVE-2021-44228").Key()
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = ParseKey(k)
	}
}
