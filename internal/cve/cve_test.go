package cve

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	feed2026 = "../../assets/nvd/nvdcve-2.0-2026.json"
	feed2003 = "../../assets/nvd/nvdcve-2.0-2003.json.zip"
)

func readFeed(t testing.TB, path string) []json.RawMessage {
	t.Helper()
	recs, err := ReadFeedFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func extractAll(t *testing.T, recs []json.RawMessage) map[string]Record {
	t.Helper()
	out := make(map[string]Record, len(recs))
	for i, raw := range recs {
		r, err := Extract(raw)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		out[r.ID] = r
	}
	return out
}

func TestExtract2026Feed(t *testing.T) {
	recs := extractAll(t, readFeed(t, feed2026))
	// Ground truth from /work/shared/data/INDEX.md and jq over the feed.
	var v40, v31, rejected, withConfig, kev int
	for _, r := range recs {
		if _, ok := r.ScoreFor(V40); ok {
			v40++
		}
		if _, ok := r.ScoreFor(V31); ok {
			v31++
		}
		if r.Status == "Rejected" {
			rejected++
		}
		if len(r.Products) > 0 {
			withConfig++
		}
		if r.InKEV() {
			kev++
		}
	}
	got := []int{len(recs), v40, v31, rejected, withConfig, kev}
	want := []int{1069, 388, 841, 78, 345, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("records, v4.0, v3.1, rejected, with configurations, KEV = %v; want %v", got, want)
		}
	}
}

func TestExtractKnownRecords(t *testing.T) {
	recs := extractAll(t, readFeed(t, feed2026))
	r := recs["CVE-2026-0544"]
	if want := time.Date(2026, 1, 1, 9, 15, 51, 113e6, time.UTC); !r.Published.Equal(want) {
		t.Errorf("published = %v, want %v", r.Published, want)
	}
	if r.Status != "Analyzed" || r.Source != "cna@vuldb.com" {
		t.Errorf("status, source = %q, %q", r.Status, r.Source)
	}
	if strings.Join(r.CWEs, ",") != "CWE-74,CWE-89" {
		t.Errorf("CWEs = %v", r.CWEs)
	}
	// v3.1 has a Secondary 7.3 then a Primary 9.8: the Primary one is kept.
	if s, _ := r.ScoreFor(V31); s.Base != 9.8 || s.Severity != "CRITICAL" || !s.Primary {
		t.Errorf("v3.1 = %+v", s)
	}
	// v2 from the CNA has no baseSeverity: it is derived from the score.
	if s, _ := r.ScoreFor(V2); s.Base != 7.5 || s.Severity != "HIGH" {
		t.Errorf("v2 = %+v", s)
	}
	if b, _ := r.Best(); b.Version != V40 || b.Base != 6.9 || b.Severity != "MEDIUM" {
		t.Errorf("best = %+v", b)
	}
	want := Product{Part: "a", Vendor: "itsourcecode", Product: "school_management_system", Vulnerable: true}
	if len(r.Products) != 1 || r.Products[0] != want {
		t.Errorf("products = %+v", r.Products)
	}
	k := recs["CVE-2026-20805"].KEV
	if k.ExploitAdd != "2026-01-13" || k.ActionDue != "2026-02-03" ||
		k.VulnerabilityName != "Microsoft Windows Information Disclosure Vulnerability" || !strings.HasPrefix(k.RequiredAction, "Apply mitigations") {
		t.Errorf("KEV = %+v", k)
	}
}

func TestExtract2003FeedAndPages(t *testing.T) {
	recs := extractAll(t, readFeed(t, feed2003))
	if len(recs) != 1555 {
		t.Fatalf("2003 feed: %d records, want 1555", len(recs))
	}
	var v2, es int
	for _, r := range recs {
		if _, ok := r.ScoreFor(V2); ok {
			v2++
		}
		if len(r.Texts) == 2 {
			es++
		}
	}
	if v2 != 1503 || es != 883 {
		t.Errorf("v2 scores on %d, two descriptions on %d; want 1503, 883", v2, es)
	}
	pages, _ := filepath.Glob("../../testdata/nvd/pages/*/*.json")
	n := 0
	for _, p := range pages {
		n += len(extractAll(t, readFeed(t, p)))
	}
	if n != 24+38 {
		t.Errorf("pages: %d records, want 62", n)
	}
}

func TestExtractRejectsBadRecords(t *testing.T) {
	tests := []struct {
		name, raw, field string
	}{
		{"not an object", `[1]`, "JSON object"},
		{"no id", `{"published":"2024-01-01T00:00:00.000","lastModified":"2024-01-01T00:00:00.000"}`, "id is missing"},
		{"wrapped", `{"cve":{"id":"CVE-2024-0001"}}`, "vulnerabilities item"},
		{"bad id", `{"id":"CVE-24-1","published":"2024-01-01T00:00:00.000","lastModified":"2024-01-01T00:00:00.000"}`, "field id"},
		{"id not a string", `{"id":7}`, "field id"},
		{"no published", `{"id":"CVE-2024-0001","lastModified":"2024-01-01T00:00:00.000"}`, "published is missing"},
		{"bad published", `{"id":"CVE-2024-0001","published":"2024-13-01T00:00:00","lastModified":"2024-01-01T00:00:00.000"}`, "field published"},
		{"bad lastModified", `{"id":"CVE-2024-0001","published":"2024-01-01T00:00:00","lastModified":"yesterday"}`, "field lastModified"},
		{"score type", `{"id":"CVE-2024-0001","published":"2024-01-01T00:00:00","lastModified":"2024-01-01T00:00:00","metrics":{"cvssMetricV31":[{"type":"Primary","cvssData":{"baseScore":"high"}}]}}`, "metrics.cvssMetricV31.cvssData.baseScore"},
		{"score range", `{"id":"CVE-2024-0001","published":"2024-01-01T00:00:00","lastModified":"2024-01-01T00:00:00","metrics":{"cvssMetricV40":[{"type":"Primary","cvssData":{"baseScore":11}}]}}`, "metrics.cvssMetricV40[0].cvssData.baseScore"},
		{"severity", `{"id":"CVE-2024-0001","published":"2024-01-01T00:00:00","lastModified":"2024-01-01T00:00:00","metrics":{"cvssMetricV2":[{"baseSeverity":"BAD","cvssData":{"baseScore":1}}]}}`, "metrics.cvssMetricV2[0].baseSeverity"},
		{"cpe", `{"id":"CVE-2024-0001","published":"2024-01-01T00:00:00","lastModified":"2024-01-01T00:00:00","configurations":[{"nodes":[{"cpeMatch":[{"criteria":"cpe:/a:x:y"}]}]}]}`, "configurations[0].nodes[0].cpeMatch[0].criteria"},
		{"kev date", `{"id":"CVE-2024-0001","published":"2024-01-01T00:00:00","lastModified":"2024-01-01T00:00:00","cisaExploitAdd":"13/01/2026"}`, "cisaExploitAdd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Extract(json.RawMessage(tt.raw))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v; want ErrInvalid naming %q", err, tt.field)
			}
		})
	}
}

func TestNormalizeIDAndKey(t *testing.T) {
	tests := []struct {
		in, want string
		key      int64
	}{
		{"CVE-2021-44228", "CVE-2021-44228", 2021e10 + 44228},
		{" cve-2003-0001 ", "CVE-2003-0001", 2003e10 + 1},
		{"CVE-2018-1000500", "CVE-2018-1000500", 2018e10 + 1000500},
		{"CVE-2021-4422", "CVE-2021-4422", 2021e10 + 4422},
		{"CVE-2021-044228", "", 0},
		{"CVE-2021-123", "", 0},
		{"CVE-21-1234", "", 0},
		{"CWE-2021-1234", "", 0},
		{"CVE-1998-1234", "", 0},
		{"CVE-2021-12345678901", "", 0},
		{"", "", 0},
	}
	for _, tt := range tests {
		got, err := NormalizeID(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "cve_id") {
				t.Errorf("NormalizeID(%q) = %q, %v; want ErrInvalid naming cve_id", tt.in, got, err)
			}
			continue
		}
		key, _ := IDKey(tt.in)
		if got != tt.want || err != nil || key != tt.key {
			t.Errorf("NormalizeID(%q) = %q, %v, key %d; want %q, %d", tt.in, got, err, key, tt.want, tt.key)
		}
	}
	a, _ := IDKey("CVE-2021-9999")
	b, _ := IDKey("CVE-2021-10000")
	if a >= b {
		t.Errorf("IDKey does not order numerically: %d >= %d", a, b)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-03-29T17:15:21.150", time.Date(2024, 3, 29, 17, 15, 21, 150e6, time.UTC), true},
		{"2024-03-29T17:15:21", time.Date(2024, 3, 29, 17, 15, 21, 0, time.UTC), true},
		{"2026-01-21T03:00:00.4458328", time.Date(2026, 1, 21, 3, 0, 0, 445832800, time.UTC), true},
		{"2024-03-29T17:15:21.150Z", time.Date(2024, 3, 29, 17, 15, 21, 150e6, time.UTC), true},
		{"2024-03-29T19:15:21+02:00", time.Date(2024, 3, 29, 17, 15, 21, 0, time.UTC), true},
		{"2024-03-29", time.Date(2024, 3, 29, 0, 0, 0, 0, time.UTC), true},
		{"2024-02-30", time.Time{}, false},
		{"29/03/2024", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if s := FormatTime(time.Date(2024, 3, 29, 17, 15, 21, 150e6, time.UTC)); s != "2024-03-29T17:15:21.150" {
		t.Errorf("FormatTime = %q", s)
	}
}

func TestParseCPE(t *testing.T) {
	tests := []struct {
		in   string
		want Product
		ok   bool
	}{
		{"cpe:2.3:a:apache:log4j:2.0:*:*:*:*:*:*:*", Product{Part: "a", Vendor: "apache", Product: "log4j"}, true},
		{`cpe:2.3:o:cisco:ios:11.1\(7\)aa:*:*:*:*:*:*:*`, Product{Part: "o", Vendor: "cisco", Product: "ios"}, true},
		{`cpe:2.3:a:node\.js:Node\:Core:*:*:*:*:*:*:*:*`, Product{Part: "a", Vendor: "node.js", Product: "node:core"}, true},
		{"cpe:2.3:h:*:-:*", Product{Part: "h"}, true},
		{"cpe:/a:apache:log4j", Product{}, false},
		{"cpe:2.3:x:apache:log4j:*", Product{}, false},
		{"cpe:2.3:a", Product{}, false},
	}
	for _, tt := range tests {
		got, err := ParseCPE(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseCPE(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSeverityOf(t *testing.T) {
	tests := []struct {
		v    string
		s    float64
		want string
	}{
		{V2, 3.9, "LOW"}, {V2, 4, "MEDIUM"}, {V2, 7, "HIGH"}, {V2, 10, "HIGH"},
		{V31, 0, "NONE"}, {V31, 0.1, "LOW"}, {V30, 6.9, "MEDIUM"}, {V40, 8.9, "HIGH"}, {V40, 9, "CRITICAL"},
	}
	for _, tt := range tests {
		if got := SeverityOf(tt.v, tt.s); got != tt.want {
			t.Errorf("SeverityOf(%s, %v) = %s, want %s", tt.v, tt.s, got, tt.want)
		}
	}
}

func TestSaveResultAdd(t *testing.T) {
	var r SaveResult
	for _, o := range []Outcome{Saved, Saved, Updated, Unchanged, Stale} {
		r.Add(o)
	}
	if r != (SaveResult{Saved: 2, Updated: 1, Unchanged: 2, Stale: 1}) {
		t.Fatalf("%+v", r)
	}
}

func TestReadFeedErrors(t *testing.T) {
	if _, err := ReadFeed(strings.NewReader(`{"vulnerabilities":[{"cve":{"id":"CVE-2024-0001"}},{}]}`)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "vulnerabilities[1]") {
		t.Errorf("missing cve: %v", err)
	}
	if _, err := ReadFeed(strings.NewReader(`{"vulnerabilities":`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("cut off: %v", err)
	}
	if _, err := ReadFeedFile("../../testdata/nvd/nope.json"); err == nil {
		t.Error("missing file: no error")
	}
}
