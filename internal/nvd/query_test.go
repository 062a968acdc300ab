package nvd

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"2026-01-01T09:15:51.113", "2026-01-01T09:15:51.113Z", true},
		{"2003-12-31T05:00:00", "2003-12-31T05:00:00Z", true},
		{"2026-01-21T03:00:00.4458328", "2026-01-21T03:00:00.4458328Z", true},
		{"2021-08-04T13:00:00.000+01:00", "2021-08-04T12:00:00Z", true},
		{"2021-08-04", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTime(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && !got.Equal(mustTime(t, tt.want)) {
			t.Errorf("ParseTime(%q) = %v, want %s", tt.in, got, tt.want)
		}
	}
	if got := FormatTime(mustTime(t, "2021-08-04T13:00:00.5+01:00")); got != "2021-08-04T12:00:00.500" {
		t.Errorf("FormatTime = %q", got)
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		msg  string // "" when valid
		want Query
	}{
		{"", "", Query{ResultsPerPage: 2000}},
		{"startIndex=10&resultsPerPage=5&noRejected", "", Query{StartIndex: 10, ResultsPerPage: 5, NoRejected: true}},
		{"cveId=CVE-2021-44228", "", Query{ResultsPerPage: 2000, CVEID: "CVE-2021-44228"}},
		{"lastModStartDate=2021-01-01T00:00:00.000%2B01:00&lastModEndDate=2021-04-30T23:00:00.000Z", "",
			Query{ResultsPerPage: 2000, LastModStart: time.Date(2020, 12, 31, 23, 0, 0, 0, time.UTC),
				LastModEnd: time.Date(2021, 4, 30, 23, 0, 0, 0, time.UTC)}},
		{"resultsPerPage=2001", msgResults, Query{}},
		{"resultsPerPage=0", msgResults, Query{}},
		{"resultsPerPage=abc", msgResults, Query{}},
		{"startIndex=-1", msgStartIndex, Query{}},
		{"cveId=CVE-21-1", msgCVEID, Query{}},
		{"lastModStartDate=2021-01-01T00:00:00.000Z", msgUnpaired, Query{}},
		{"pubStartDate=2021-01-01T00:00:00Z&pubEndDate=2021-06-01T00:00:00Z", msgRange, Query{}},
		{"lastModStartDate=2021-01-01T00:00:00&lastModEndDate=2021-02-01T00:00:00", msgBadDate, Query{}},
		{"noRejected=yes", msgNoRejected, Query{}},
		{"keywordSearch=linux", msgUnknownParam + "keywordSearch", Query{}},
	}
	for _, tt := range tests {
		v, err := url.ParseQuery(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseQuery(v)
		if tt.msg != "" {
			if !errors.Is(err, ErrInvalidQuery) || !strings.HasSuffix(err.Error(), tt.msg) {
				t.Errorf("ParseQuery(%q) error %v, want one ending %q", tt.raw, err, tt.msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", tt.raw, err)
			continue
		}
		if !got.LastModStart.Equal(tt.want.LastModStart) || !got.LastModEnd.Equal(tt.want.LastModEnd) {
			t.Errorf("ParseQuery(%q) range %v..%v, want %v..%v", tt.raw, got.LastModStart, got.LastModEnd, tt.want.LastModStart, tt.want.LastModEnd)
		}
		got.LastModStart, got.LastModEnd = tt.want.LastModStart, tt.want.LastModEnd
		if got != tt.want {
			t.Errorf("ParseQuery(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

func TestRawQueryRoundTrip(t *testing.T) {
	start := time.Date(2024, 3, 1, 12, 30, 0, 250e6, time.UTC)
	q := Query{StartIndex: 4000, ResultsPerPage: 2000, LastModStart: start, LastModEnd: start.Add(MaxRange), NoRejected: true}
	raw := q.RawQuery()
	if !strings.Contains(raw, "lastModStartDate=2024-03-01T12%3A30%3A00.250%2B00%3A00") {
		t.Errorf("RawQuery %q: dates must carry an explicit offset", raw)
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseQuery(v)
	if err != nil {
		t.Fatalf("ParseQuery(RawQuery) = %v", err)
	}
	if !got.LastModStart.Equal(q.LastModStart) || !got.LastModEnd.Equal(q.LastModEnd) ||
		got.StartIndex != q.StartIndex || got.ResultsPerPage != q.ResultsPerPage || !got.NoRejected {
		t.Errorf("round trip %+v -> %q -> %+v", q, raw, got)
	}
}

func TestSplitRange(t *testing.T) {
	day := 24 * time.Hour
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		span time.Duration
		want int
	}{{0, 1}, {day, 1}, {120 * day, 1}, {120*day + time.Millisecond, 2}, {365 * day, 4}, {10 * 365 * day, 31}}
	for _, tt := range tests {
		rs := SplitRange(base, base.Add(tt.span), 0)
		if len(rs) != tt.want {
			t.Errorf("span %v: %d ranges, want %d", tt.span, len(rs), tt.want)
		}
		prev := base
		for _, r := range rs {
			if !r.Start.Equal(prev) || r.End.Sub(r.Start) > MaxRange || r.End.Before(r.Start) {
				t.Errorf("span %v: bad range %v..%v after %v", tt.span, r.Start, r.End, prev)
			}
			if err := (Query{LastModStart: r.Start, LastModEnd: r.End}).Validate(); err != nil {
				t.Errorf("span %v: range refused: %v", tt.span, err)
			}
			prev = r.End
		}
		if !prev.Equal(base.Add(tt.span)) {
			t.Errorf("span %v: ends at %v", tt.span, prev)
		}
	}
}

func TestPageValidate(t *testing.T) {
	item := Vulnerability{CVE: []byte(`{"id":"CVE-2020-0001"}`)}
	tests := []struct {
		name       string
		page       Page
		start, per int
		ok         bool
	}{
		{"whole", Page{TotalResults: 2, Vulnerabilities: []Vulnerability{item, item}}, 0, 2000, true},
		{"last page", Page{StartIndex: 2, TotalResults: 3, Vulnerabilities: []Vulnerability{item}}, 2, 2, true},
		{"empty result", Page{TotalResults: 0}, 0, 2000, true},
		{"past the end", Page{StartIndex: 9, TotalResults: 3}, 9, 2000, true},
		{"missing vulnerabilities", Page{TotalResults: 5}, 0, 2000, false},
		{"short", Page{TotalResults: 5, Vulnerabilities: []Vulnerability{item}}, 0, 2, false},
		{"wrong start", Page{StartIndex: 1, TotalResults: 5, Vulnerabilities: []Vulnerability{item}}, 0, 1, false},
		{"null cve", Page{TotalResults: 1, Vulnerabilities: []Vulnerability{{CVE: []byte("null")}}}, 0, 1, false},
	}
	for _, tt := range tests {
		err := tt.page.validate(tt.start, tt.per)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadPage)) {
			t.Errorf("%s: validate = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestRetryAfterAndExcerpt(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ra := []struct {
		in   string
		want time.Duration
	}{{"", 0}, {"7", 7 * time.Second}, {" 0 ", 0}, {"-3", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http1123), 90 * time.Second}, {now.Add(-time.Hour).Format(http1123), 0}}
	for _, tt := range ra {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	ex := []struct{ in, want string }{
		{"<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>",
			"503 Service Unavailable Service Unavailable"},
		{"", ""},
		{strings.Repeat("x", 300), strings.Repeat("x", 120) + "…"},
	}
	for _, tt := range ex {
		if got := excerpt([]byte(tt.in)); got != tt.want {
			t.Errorf("excerpt(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"
