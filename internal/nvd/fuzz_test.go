package nvd

import (
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
)

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "startIndex=10&resultsPerPage=5&noRejected", "cveId=CVE-2021-44228",
		"lastModStartDate=2021-01-01T00:00:00.000%2B01:00&lastModEndDate=2021-04-30T23:00:00.000Z",
		"pubStartDate=2021-01-01T00:00:00Z&pubEndDate=2021-06-01T00:00:00Z", "resultsPerPage=2001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			if !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("error %v does not wrap ErrInvalidQuery", err)
			}
			return
		}
		// A valid query survives its own encoding.
		v2, err := url.ParseQuery(q.RawQuery())
		if err != nil {
			t.Fatal(err)
		}
		q2, err := ParseQuery(v2)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", q.RawQuery(), err)
		}
		if q2.StartIndex != q.StartIndex || q2.CVEID != q.CVEID || q2.NoRejected != q.NoRejected ||
			!q2.LastModStart.Equal(q.LastModStart.Truncate(1e6)) && !q2.LastModStart.Equal(q.LastModStart) {
			t.Fatalf("round trip %+v -> %+v", q, q2)
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	b, err := os.ReadFile("../../testdata/nvd/pages/vunnel/single-entry.json")
	if err == nil {
		if i := strings.Index(string(b), `"cve"`); i > 0 {
			f.Add(b[i+6 : len(b)-3])
		}
	}
	f.Add([]byte(`{"id":"CVE-2026-0001","published":"2026-01-01T00:00:00.000","lastModified":"2026-01-01T00:00:00.000","vulnStatus":"Rejected"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := ParseRecord(raw)
		if err != nil {
			if !errors.Is(err, ErrBadPage) {
				t.Fatalf("error %v does not wrap ErrBadPage", err)
			}
			return
		}
		if !validCVEID(r.ID) || len(r.Raw) == 0 {
			t.Fatalf("accepted record %+v", r)
		}
	})
}

func FuzzFeedRead(f *testing.F) {
	f.Add([]byte(`{"resultsPerPage":1,"startIndex":0,"totalResults":1,"format":"NVD_CVE","version":"2.0","timestamp":"2026-01-01T00:00:00.000","vulnerabilities":[{"cve":{"id":"CVE-2026-0001","published":"2026-01-01T00:00:00.000","lastModified":"2026-01-01T00:00:00.000"}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var feed Feed
		if err := feed.Read(strings.NewReader(string(raw)), "fuzz"); err != nil {
			if !errors.Is(err, ErrFeed) {
				t.Fatalf("error %v does not wrap ErrFeed", err)
			}
			return
		}
		for i := range feed.Len() {
			if j, ok := feed.Lookup(feed.ID(i)); !ok || j != i {
				t.Fatalf("Lookup(%s) = %d, %v", feed.ID(i), j, ok)
			}
		}
	})
}
