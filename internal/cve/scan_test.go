package cve

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkFast compares decodeFast with encoding/json on b: when the fast path
// accepts b, encoding/json must accept it too and decode the same fields,
// and the spaced flag must agree with Spaced.
func checkFast(t *testing.T, b []byte) (ok bool) {
	t.Helper()
	var fast nvdCVE
	ok, spaced := decodeFast(b, &fast)
	if !ok {
		return false
	}
	var ref nvdCVE
	if err := decodeJSON(b, &ref); err != nil {
		t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, b)
	}
	if !reflect.DeepEqual(fast, ref) {
		t.Fatalf("fast path decoded\n%+v\nencoding/json\n%+v\ninput %q", fast, ref, b)
	}
	if spaced != Spaced(b) {
		t.Fatalf("spaced = %v, Spaced = %v: %q", spaced, !spaced, b)
	}
	return true
}

func realRecordsForScan(t testing.TB) []json.RawMessage {
	recs := append(readFeed(t, feed2026), readFeed(t, feed2003)...)
	pages, _ := filepath.Glob("../../testdata/nvd/pages/*/*.json")
	for _, p := range pages {
		recs = append(recs, readFeed(t, p)...)
	}
	return recs
}

// TestDecodeFastMatchesEncodingJSON runs every real record, indented as in
// the feeds and compacted as NVD API pages send it, through both decoders.
// The fast path must take every one of them.
func TestDecodeFastMatchesEncodingJSON(t *testing.T) {
	recs := realRecordsForScan(t)
	if len(recs) != 2624+62 {
		t.Fatalf("%d records, want 2686", len(recs))
	}
	for i := 0; i < len(recs); i += raceStride {
		raw := recs[i]
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{bytes.TrimSpace(raw), buf.Bytes()} {
			if !checkFast(t, b) {
				t.Fatalf("record %d: fast path refused a real record: %.200s", i, b)
			}
		}
		r1, c1, err1 := ExtractCompact(raw)
		var r2 Record
		var err2 error
		if err1 == nil {
			r2, err2 = Extract(c1)
		}
		if err1 != nil || err2 != nil || !reflect.DeepEqual(r1, r2) || !bytes.Equal(c1, buf.Bytes()) {
			t.Fatalf("record %d: ExtractCompact = %+v, %v; Extract of its bytes = %+v, %v", i, r1, err1, r2, err2)
		}
	}
}

// TestDecodeFastHandsOver lists inputs the fast path must leave to
// encoding/json (or decode exactly like it).
func TestDecodeFastHandsOver(t *testing.T) {
	base := `"id":"CVE-2024-0001","published":"2024-01-01T00:00:00","lastModified":"2024-01-01T00:00:00"`
	tests := []struct {
		name, raw string
		fast      bool // the fast path decodes it itself
	}{
		{"plain", `{` + base + `}`, true},
		{"spaced", "{ " + base + "\n}", true},
		{"escaped value", `{` + base + `,"descriptions":[{"lang":"en","value":"a \"b\"\n\u00e9\ud83d\ude00 \ud800"}]}`, true},
		{"unicode value", `{` + base + `,"descriptions":[{"lang":"es","value":"versión"}]}`, true},
		{"bad utf-8", "{" + base + `,"descriptions":[{"lang":"en","value":"a` + "\xff\xfe" + `"}]}`, true},
		{"unknown fields", `{` + base + `,"references":[{"url":"x","tags":["a",1,-2.5e3,true,false,null,{}]}],"x":{"y":[[]]}}`, true},
		{"score", `{` + base + `,"metrics":{"cvssMetricV31":[{"type":"Primary","cvssData":{"baseScore":9.8,"baseSeverity":"CRITICAL","attackVector":"NETWORK"}}]}}`, true},
		{"vulnerable", `{` + base + `,"configurations":[{"nodes":[{"cpeMatch":[{"vulnerable":false,"criteria":"cpe:2.3:a:x:y:*:*:*:*:*:*:*:*"}]}]}]}`, true},
		{"empty lists", `{` + base + `,"weaknesses":[],"configurations":[],"descriptions":[],"metrics":{}}`, true},
		{"duplicate id", `{` + base + `,"id":"CVE-2024-0002"}`, false},
		{"duplicate metrics", `{` + base + `,"metrics":{"cvssMetricV2":[]},"metrics":{"cvssMetricV31":[]}}`, false},
		{"case of key", `{` + base + `,"VulnStatus":"Analyzed"}`, false},
		{"fold to ASCII", `{` + base + `,"vulnStatuſ":"Analyzed"}`, false},
		{"dotted I", `{"İd":"CVE-2024-0001","published":"2024-01-01T00:00:00","lastModified":"2024-01-01T00:00:00"}`, false},
		{"escaped key", `{` + base + `,"vuln\u0053tatus":"Analyzed"}`, false},
		{"null", `{` + base + `,"weaknesses":null}`, false},
		{"score as string", `{` + base + `,"metrics":{"cvssMetricV31":[{"cvssData":{"baseScore":"9"}}]}}`, false},
		{"huge score", `{` + base + `,"metrics":{"cvssMetricV31":[{"cvssData":{"baseScore":1e999}}]}}`, false},
		{"trailing data", `{` + base + `} x`, false},
		{"two objects", `{` + base + `}{}`, false},
		{"cut", `{` + base, false},
		{"bad escape", `{` + base + `,"x":"\q"}`, false},
		{"control char", "{" + base + ",\"x\":\"a\x01\"}", false},
		{"bad number", `{` + base + `,"x":01}`, false},
		{"deep", `{` + base + `,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, false},
		{"wrapped", `{"cve":{"id":"CVE-2024-0001"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkFast(t, []byte(tt.raw)); got != tt.fast {
				t.Fatalf("fast path took it: %v, want %v", got, tt.fast)
			}
			// Whichever path decodes it, Extract agrees with encoding/json.
			var ref nvdCVE
			refErr := decodeJSON(bytes.TrimSpace([]byte(tt.raw)), &ref)
			_, err := Extract(json.RawMessage(tt.raw))
			if refErr != nil && err == nil {
				t.Fatalf("Extract accepted what encoding/json refuses: %v", refErr)
			}
		})
	}
}

// FuzzDecodeFast checks the fast path against encoding/json on any input.
func FuzzDecodeFast(f *testing.F) {
	recs, err := ReadFeedFile(feed2026)
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range recs[:10] {
		var buf bytes.Buffer
		json.Compact(&buf, r)
		f.Add(buf.Bytes())
	}
	f.Add([]byte(`{"id":"CVE-2024-0001","descriptions":[{"lang":"en","value":"\u00e9\"x"}],"metrics":{"cvssMetricV2":[{"cvssData":{"baseScore":-0.0e+1}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFast(t, b)
		r1, c1, err1 := ExtractCompact(b)
		if err1 != nil {
			return
		}
		r2, err2 := Extract(c1)
		if err2 != nil || !reflect.DeepEqual(r1, r2) || Spaced(c1) {
			t.Fatalf("ExtractCompact = %+v (%q); Extract of its bytes = %+v, %v", r1, c1, r2, err2)
		}
	})
}

// BenchmarkExtract decodes the compacted real records: ExtractCompact (the
// fast path) against encoding/json into the same fields.
func BenchmarkExtract(b *testing.B) {
	var recs [][]byte
	for _, raw := range realRecordsForScan(b) {
		var buf bytes.Buffer
		json.Compact(&buf, raw)
		recs = append(recs, buf.Bytes())
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, _, err := ExtractCompact(recs[i%len(recs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var c nvdCVE
			if err := decodeJSON(recs[i%len(recs)], &c); err != nil {
				b.Fatal(err)
			}
			if _, err := fromCVE(&c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestSpaced(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":"x y","b":[1,2]}`: false,
		`{"a":"q\"  ","b":1}`:   false,
		`{"a": 1}`:              true,
		"{\"a\":1}\n":           true,
		`{"a":"\\\\" ,"b":1}`:   true,
		`{"a":"tab\tinside"}`:   false,
	} {
		if got := Spaced([]byte(in)); got != want {
			t.Errorf("Spaced(%s) = %v, want %v", in, got, want)
		}
	}
}
