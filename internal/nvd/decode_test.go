package nvd

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// compacted returns p with every record compacted: what DecodePage
// returns where encoding/json returns p.
func compacted(p Page) Page {
	vs := make([]Vulnerability, len(p.Vulnerabilities))
	for i, v := range p.Vulnerabilities {
		if v.CVE != nil {
			var c bytes.Buffer
			_ = json.Compact(&c, v.CVE)
			vs[i].CVE = c.Bytes()
		}
	}
	if p.Vulnerabilities != nil {
		p.Vulnerabilities = vs
	}
	return p
}

func TestDecodePage(t *testing.T) {
	page := benchPage(t)
	tests := map[string][]byte{"generated page": page}
	for _, name := range []string{"vunnel/full-page.json", "vunnel/single-entry.json", "single/CVE-2022-0090.json"} {
		b, err := os.ReadFile("../../testdata/nvd/pages/" + name)
		if err != nil {
			t.Fatal(err)
		}
		tests[name] = b
	}
	tests["no vulnerabilities"] = []byte(`{"resultsPerPage":0,"startIndex":5,"totalResults":5,"format":"NVD_CVE","version":"2.0","timestamp":"x"}`)
	tests["cut off"] = page[:len(page)/2]
	tests["key in other case"] = []byte(`{"StartIndex":3,"vulnerabilities":[{"CVE":{"id":"x"}}]}`)
	tests["null"] = []byte(`{"startIndex":null,"vulnerabilities":[null,{"cve":null}]}`)
	tests["escaped string"] = []byte(`{"format":"NVD\u005fCVE","vulnerabilities":[]}`)
	tests["wrong type"] = []byte(`{"startIndex":"0"}`)
	tests["spaced record"] = []byte(`{"vulnerabilities": [{"cve": {"id": "CVE-2026-0001", "a": [1, " x "]}}, {}]}`)
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DecodePage(body)
			var want Page
			werr := json.Unmarshal(body, &want)
			if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
				t.Fatalf("error %v, encoding/json %v", err, werr)
			}
			if !reflect.DeepEqual(got, compacted(want)) {
				t.Errorf("page differs from encoding/json's, compacted")
			}
		})
	}
	// Records are copies: the body may be reused.
	p, _ := DecodePage(page)
	first := string(p.Vulnerabilities[0].CVE)
	clear(page)
	if string(p.Vulnerabilities[0].CVE) != first {
		t.Error("record aliases the body")
	}
}

// FuzzDecodePage checks DecodePage against json.Unmarshal into Page.
func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{`{"resultsPerPage":1,"startIndex":0,"totalResults":1,"format":"NVD_CVE","version":"2.0","timestamp":"2026-01-01T00:00:00.000","vulnerabilities":[{"cve":{"id":"CVE-2026-0001"}}]}`,
		`{"STARTINDEX":1,"startIndex":2}`, `{"vulnerabilities":[{"cve":{"a":[1, 2]}},{}],"vulnerabilities":[{"x":1}]}`, `{"totalResults":1e3}`, `{"version":"\xff"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodePage(body)
		var want Page
		werr := json.Unmarshal(body, &want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodePage(%q): error %v, encoding/json %v", body, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, compacted(want)) {
			t.Fatalf("DecodePage(%q) = %+v, encoding/json %+v", body, got, want)
		}
	})
}

// BenchmarkDecodePage decodes a 2000-record page (5 MB), against
// json.Unmarshal.
func BenchmarkDecodePage(b *testing.B) {
	page := benchPage(b)
	b.Run("DecodePage", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if p, err := DecodePage(page); err != nil || len(p.Vulnerabilities) != 2000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			var p Page
			if err := json.Unmarshal(page, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
