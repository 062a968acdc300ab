package cvedb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/v2e/v2e/internal/cve"
)

func f64(v float64) *float64 { return &v }
func yes(v bool) *bool       { return &v }

// oracle answers a query by filtering the extracted records in Go.
type oracle []cve.Record

func newOracle(t testing.TB, recs []json.RawMessage) oracle {
	o := make(oracle, 0, len(recs))
	for _, raw := range recs {
		r, err := cve.Extract(raw)
		if err != nil {
			t.Fatal(err)
		}
		o = append(o, r)
	}
	return o
}

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		m[w] = true
	}
	return m
}

func best(r *cve.Record) (float64, string) {
	if b, ok := r.Best(); ok {
		return b.Base, b.Severity
	}
	return -1, ""
}

func (o oracle) match(r *cve.Record, q *cve.SearchQuery) bool {
	score, sev := best(r)
	if q.Query != "" {
		ws := words(strings.Join(r.Texts, "\n"))
		for _, w := range strings.Fields(strings.ToLower(q.Query)) {
			prefix := strings.HasSuffix(w, "*")
			tokens := strings.FieldsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			for i, tok := range tokens {
				ok := ws[tok]
				for k := range ws {
					ok = ok || prefix && i == len(tokens)-1 && strings.HasPrefix(k, tok)
				}
				if !ok {
					return false
				}
			}
		}
	}
	hasProduct := func(vendor, product string) bool {
		for _, p := range r.Products {
			if p.Vendor != "" && (vendor == "" || p.Vendor == vendor) && (product == "" || p.Product == product) {
				return true
			}
		}
		return false
	}
	pub, mod := r.Published, r.LastModified
	switch {
	case len(q.Severities) > 0 && !slices.Contains(q.Severities, sev),
		q.CVSSMin != nil && score < *q.CVSSMin,
		q.CVSSMax != nil && (score < 0 || score > *q.CVSSMax),
		q.CWEID != "" && !slices.Contains(r.CWEs, q.CWEID),
		(q.Vendor != "" || q.Product != "") && !hasProduct(q.Vendor, q.Product),
		!q.PubFrom.IsZero() && pub.Before(q.PubFrom), !q.PubTo.IsZero() && !pub.Before(q.PubTo),
		!q.ModFrom.IsZero() && mod.Before(q.ModFrom), !q.ModTo.IsZero() && !mod.Before(q.ModTo),
		q.Status != "" && !strings.EqualFold(q.Status, r.Status),
		q.KEV != nil && *q.KEV != r.InKEV():
		return false
	}
	return true
}

func sortValue(r *cve.Record, field string) float64 {
	switch field {
	case cve.SortPublished:
		return float64(r.Published.UnixMicro())
	case cve.SortModified:
		return float64(r.LastModified.UnixMicro())
	case cve.SortScore:
		s, _ := best(r)
		return s
	}
	return float64(r.Key)
}

func (o oracle) search(q cve.SearchQuery) []string {
	var hits []*cve.Record
	for i := range o {
		if o.match(&o[i], &q) {
			hits = append(hits, &o[i])
		}
	}
	slices.SortFunc(hits, func(a, b *cve.Record) int {
		c := cmpF(sortValue(a, q.SortField), sortValue(b, q.SortField))
		if c == 0 {
			c = cmpF(float64(a.Key), float64(b.Key))
		}
		if q.Descending {
			c = -c
		}
		return c
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pageAll follows next_cursor to the end and returns every id.
func pageAll(t *testing.T, s *Store, q cve.SearchQuery) ([]string, int) {
	t.Helper()
	var ids []string
	total := -1
	for pages := 0; ; pages++ {
		res, err := s.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if total >= 0 && res.Total != total {
			t.Fatalf("total changed between pages: %d then %d", total, res.Total)
		}
		total = res.Total
		for _, h := range res.CVEs {
			ids = append(ids, h.ID)
		}
		if res.NextCursor == "" {
			return ids, total
		}
		if len(res.CVEs) != q.Limit || pages > 3000 {
			t.Fatalf("short page (%d of %d) with a next cursor", len(res.CVEs), q.Limit)
		}
		q.Cursor = res.NextCursor
	}
}

func TestSearchMatchesOracle(t *testing.T) {
	s, recs := shared(t)
	o := newOracle(t, recs)
	tests := []cve.SearchQuery{
		{},
		{Query: "sql injection"},
		{Query: "remote attackers", Sort: "-last_modified"},
		{Query: "overfl*", CVSSMin: f64(5), Sort: "-cvss"},
		{Query: "vulnerabilidad desbordamiento"},
		{Query: "cross-site scripting", Sort: "id"},
		{Query: "execute arbitrary code via a crafted*", Severity: "HIGH"},
		{Severity: "high,CRITICAL", Sort: "-cvss"},
		{CVSSMin: f64(7), CVSSMax: f64(9), Sort: "cvss"},
		{CVSSMax: f64(2.5)},
		{CWEID: "79"},
		{CWEID: "NVD-CWE-Other", Sort: "id"},
		{Vendor: "Microsoft"},
		{Vendor: "cisco", Product: "ios", Sort: "id"},
		{Product: "linux_kernel", Sort: "-id"},
		{PublishedFrom: "2026-01-05", PublishedTo: "2026-01-10"},
		{ModifiedFrom: "2025-06-01T00:00:00Z", Sort: "-last_modified"},
		{ModifiedTo: "2024-01-01T00:00:00.000", Sort: "last_modified"},
		{Status: "rejected"},
		{Status: "Modified", PublishedFrom: "2003-06-01", PublishedTo: "2003-06-30", Sort: "published"},
		{KEV: yes(true)},
		{KEV: yes(false), Severity: "LOW", Sort: "-id"},
		{Query: "windows", Vendor: "microsoft", CWEID: "CWE-200", Severity: "MEDIUM"},
		{Query: "remote", Severity: "HIGH,CRITICAL", Vendor: "microsoft", PublishedFrom: "2003-03-01"},
		{Query: "remote attackers", PublishedFrom: "2003-02-01", PublishedTo: "2003-05-31T12:00:00Z", Sort: "-cvss"},
		{Query: "code", PublishedTo: "2004-01-01", Vendor: "cisco", Product: "ios", Sort: "id"},
		{Query: "vulnerabilidad", Severity: "MEDIUM", Status: "Modified", Sort: "last_modified"},
		// Many matches sorted by publication: narrowed to the months a page can come from (byMonths).
		{Query: "vulnerability"},
		{Query: "a", Sort: "published"},
		{Query: "a", Sort: "-published"},
	}
	for i, q := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if err := q.Validate(); err != nil {
				t.Fatal(err)
			}
			want := o.search(q)
			if len(want) == 0 {
				t.Fatalf("%+v: the oracle finds nothing: pick a query that tests something", tests[i])
			}
			// Two page sizes: the plan (filter indexes or sort index) depends on matches*matches vs limit*stored.
			// With words and other filters, also both full-text plans (see collect).
			defer func(v int) { ftsFirstMax = v }(ftsFirstMax)
			plans := []int{ftsFirstMax}
			if q.Query != "" {
				plans = append(plans, 0)
			}
			for _, first := range plans {
				ftsFirstMax = first
				for _, limit := range []int{97, 500} {
					q.Limit = limit
					got, total := pageAll(t, s, q)
					if total != len(want) || !slices.Equal(got, want) {
						t.Fatalf("%+v limit %d, ftsFirstMax %d: total %d, %d ids; want %d\n got %.10v\nwant %.10v", tests[i], limit, first, total, len(got), len(want), got, want)
					}
				}
			}
		})
	}
}

func TestSearchSummaryAndEmpty(t *testing.T) {
	ctx := context.Background()
	s, _ := shared(t)
	res, err := s.Search(ctx, cve.SearchQuery{Vendor: "itsourcecode", Product: "school_management_system"})
	if err != nil || len(res.CVEs) == 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	var got *cve.Summary
	for i := range res.CVEs {
		if res.CVEs[i].ID == "CVE-2026-0544" {
			got = &res.CVEs[i]
		}
	}
	if got == nil {
		t.Fatal("CVE-2026-0544 not found")
	}
	want := cve.Summary{ID: "CVE-2026-0544", Published: "2026-01-01T09:15:51.113", LastModified: "2026-01-06T19:25:10.050",
		Status: "Analyzed", CVSSScore: f64(6.9), CVSSSeverity: "MEDIUM", CVSSVersion: "4.0", CWEIDs: []string{"CWE-74", "CWE-89"}}
	want.Description = got.Description
	if !strings.HasPrefix(got.Description, "A security flaw has been discovered in itsourcecode School Management System 1.0.") || !reflect.DeepEqual(*got, want) {
		t.Errorf("summary = %+v", *got)
	}
	b, _ := json.Marshal(got)
	for _, k := range []string{`"last_modified":`, `"cvss_score":6.9`, `"cwe_ids":["CWE-74","CWE-89"]`, `"kev":false`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("summary JSON %s lacks %s", b, k)
		}
	}
	for _, q := range []cve.SearchQuery{{Query: "!!!"}, {Vendor: "no-such-vendor"}} {
		res, err := s.Search(ctx, q)
		if err != nil || res.Total != 0 || len(res.CVEs) != 0 || res.NextCursor != "" || res.CVEs == nil {
			t.Errorf("%+v: %+v, %v; want an empty page", q, res, err)
		}
	}
	if _, err := s.Search(ctx, cve.SearchQuery{Severity: "urgent"}); !errors.Is(err, cve.ErrInvalid) || !strings.Contains(err.Error(), "severity") {
		t.Errorf("bad severity: %v", err)
	}
	if _, err := s.Search(ctx, cve.SearchQuery{Sort: "id", Cursor: cve.Cursor{Sort: "-published", Key: 1}.Encode()}); !errors.Is(err, cve.ErrInvalid) {
		t.Errorf("cursor of another sort: %v", err)
	}
}

// shifted returns a copy of raw with a new id and published date.
func shifted(t testing.TB, raw json.RawMessage, id string, published time.Time) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["id"] = id
	m["published"] = cve.FormatTime(published)
	out, _ := json.Marshal(m)
	return out
}

func TestPagingStableWhileDataChanges(t *testing.T) {
	ctx := context.Background()
	s, recs := loaded(t, 600)
	q := cve.SearchQuery{Sort: "-published", Limit: 50}
	before, _ := pageAll(t, s, q)
	first, err := s.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// Between pages: records appear on both sides of the cursor, one after it is deleted.
	c, _ := cve.DecodeCursor(first.NextCursor)
	at := time.UnixMicro(int64(c.Value)).UTC()
	batch := []json.RawMessage{
		shifted(t, recs[0], "CVE-2099-0001", at.Add(time.Hour)),  // sorts before the cursor: not seen
		shifted(t, recs[1], "CVE-2099-0002", at.Add(-time.Hour)), // sorts after: seen
	}
	if _, err := s.Save(ctx, batch); err != nil {
		t.Fatal(err)
	}
	deleted := before[300]
	if err := s.Delete(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	q.Cursor = first.NextCursor
	rest, _ := pageAll(t, s, q)
	var got []string
	for _, h := range first.CVEs {
		got = append(got, h.ID)
	}
	got = append(got, rest...)
	var want []string
	for _, id := range before {
		if id != deleted {
			want = append(want, id)
		}
	}
	if slices.Contains(got, "CVE-2099-0001") || !slices.Contains(got, "CVE-2099-0002") {
		t.Fatal("records added before/after the cursor are not handled as keyset paging promises")
	}
	got = slices.DeleteFunc(got, func(id string) bool { return id == "CVE-2099-0002" })
	if !slices.Equal(got, want) {
		t.Fatalf("paging while data changed: %d ids, want %d (duplicates or gaps)", len(got), len(want))
	}
}
