package cve

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSearchQuery(t *testing.T) {
	q, err := ParseSearchQuery(json.RawMessage(`{"query":"sql injection","severity":"high, critical","cvss_min":7,
		"cwe_id":"89","vendor":"ItSourceCode","published_from":"2026-01-01","published_to":"2026-01-31",
		"modified_to":"2026-01-06T19:25:10.050","kev":false,"sort":"cvss","limit":10}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(q.Severities, ",") != "HIGH,CRITICAL" || q.CWEID != "CWE-89" || q.Vendor != "itsourcecode" ||
		q.SortField != SortScore || q.Descending || q.Limit != 10 || q.KEV == nil || *q.KEV {
		t.Errorf("%+v", q)
	}
	if !q.PubFrom.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !q.PubTo.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("published %v .. %v", q.PubFrom, q.PubTo)
	}
	if want := time.Date(2026, 1, 6, 19, 25, 10, 50e6+1e3, time.UTC); !q.ModTo.Equal(want) {
		t.Errorf("modified_to (exclusive) = %v, want %v", q.ModTo, want)
	}
	q, err = ParseSearchQuery(nil)
	if err != nil || q.Limit != DefaultLimit || q.Sort != DefaultSort || !q.Descending || q.SortField != SortPublished {
		t.Errorf("defaults: %+v, %v", q, err)
	}
}

func TestParseSearchQueryErrors(t *testing.T) {
	tests := []struct{ params, field string }{
		{`{"severity":"urgent"}`, "severity"},
		{`{"cvss_min":"7"}`, "cvss_min"},
		{`{"cvss_min":11}`, "cvss_min"},
		{`{"cvss_min":8,"cvss_max":7}`, "cvss_min"},
		{`{"cwe_id":"XSS"}`, "cwe_id"},
		{`{"published_from":"last week"}`, "published_from"},
		{`{"published_from":"2026-02-01","published_to":"2026-01-01"}`, "published_from"},
		{`{"modified_to":"2026-13-01"}`, "modified_to"},
		{`{"kev":"yes"}`, "kev"},
		{`{"sort":"score"}`, "sort"},
		{`{"limit":1001}`, "limit"},
		{`{"limit":-1}`, "limit"},
		{`{"cursor":"!!"}`, "cursor"},
		{`{"cursor":"` + Cursor{Sort: "id", Value: 1, Key: 1}.Encode() + `"}`, "cursor"},
		{`{"colour":"red"}`, "colour"},
		{`[1,2]`, "search params"},
	}
	for _, tt := range tests {
		_, err := ParseSearchQuery(json.RawMessage(tt.params))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: err = %v; want ErrInvalid naming %q", tt.params, err, tt.field)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{Sort: "-published", Value: 1767258951113000, Key: 2026e10 + 544}
	got, err := DecodeCursor(c.Encode())
	if err != nil || got != c {
		t.Fatalf("got %+v, %v; want %+v", got, err, c)
	}
	q := SearchQuery{Sort: "-published", Cursor: c.Encode()}
	if err := q.Validate(); err != nil || q.After == nil || *q.After != c {
		t.Fatalf("validate: %+v, %v", q.After, err)
	}
}

func TestNormalizeCWE(t *testing.T) {
	for in, want := range map[string]string{"79": "CWE-79", "cwe-079": "CWE-79", "CWE-1321": "CWE-1321",
		"nvd-cwe-other": "NVD-CWE-Other", "NVD-CWE-noinfo": "NVD-CWE-noinfo", "CWE-": "", "79a": "", "": ""} {
		got, err := NormalizeCWE(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("NormalizeCWE(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestFTSQuery(t *testing.T) {
	for in, want := range map[string]string{
		"sql injection":         `"sql" "injection"`,
		`  log4j "jndi" OR x `:  `"log4j" "jndi" "OR" "x"`,
		"remot* code":           `"remot"* "code"`,
		"cross-site log4j.cor*": `"cross" "site" "log4j" "cor"*`,
		"ejecución":             `"ejecución"`,
		"*** - !":               ``,
		"":                      ``,
	} {
		if got := FTSQuery(in); got != want {
			t.Errorf("FTSQuery(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	recs, err := ReadFeedFile(feed2026)
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range recs[:20] {
		f.Add([]byte(r))
	}
	f.Add([]byte(`{"id":"CVE-2024-0001","published":"2024-01-01T00:00:00","lastModified":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Extract(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if n, err := NormalizeID(r.ID); err != nil || n != r.ID {
			t.Fatalf("extracted id %q is not canonical: %v", r.ID, err)
		}
		for _, s := range r.Scores {
			if s.Base < 0 || s.Base > 10 || !severities[s.Severity] {
				t.Fatalf("bad score %+v", s)
			}
		}
	})
}

func FuzzParseSearchQuery(f *testing.F) {
	f.Add([]byte(`{"query":"sql","severity":"HIGH","cvss_min":7,"sort":"-cvss","limit":5}`))
	f.Add([]byte(`{"cursor":"eyJzIjoiLXB1Ymxpc2hlZCIsInYiOjEsImsiOjF9"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseSearchQuery(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > MaxLimit || q.SortField == "" {
			t.Fatalf("validated query out of range: %+v", q)
		}
		_ = FTSQuery(q.Query)
	})
}
