package cvedb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/v2e/v2e/internal/cve"
)

// maxFacetYears bounds the year tokens of one query; a wider publication
// range is left to the column filter alone.
const maxFacetYears = 40

// facetMatch is the FTS5 query of a search: the user's words (an FTS5
// query, or "" for none) and, as facet tokens, its CWE, vendor and product
// and, with words, its severities and publication years. It is "" when
// the search has none of them.
func facetMatch(words string, q *cve.SearchQuery, years []int) string {
	var parts []string
	if words != "" {
		parts = append(parts, "("+words+")")
	}
	if q.CWEID != "" {
		parts = append(parts, `"`+cweToken(q.CWEID)+`"`)
	}
	switch {
	case q.Vendor != "" && q.Product != "":
		parts = append(parts, `"`+pairToken(q.Vendor, q.Product)+`"`)
	case q.Vendor != "":
		parts = append(parts, `"`+vendorToken(q.Vendor)+`"`)
	case q.Product != "":
		parts = append(parts, `"`+productToken(q.Product)+`"`)
	}
	if words == "" {
		return strings.Join(parts, " AND ")
	}
	if len(q.Severities) > 0 {
		var alt []string
		for _, s := range q.Severities {
			alt = append(alt, `"`+severityToken(s)+`"`)
		}
		parts = append(parts, "("+strings.Join(alt, " OR ")+")")
	}
	if len(years) > 0 {
		var alt []string
		for _, y := range years {
			alt = append(alt, `"`+yearToken(y)+`"`)
		}
		parts = append(parts, "("+strings.Join(alt, " OR ")+")")
	}
	return strings.Join(parts, " AND ")
}

// storedYears returns the years a search with words and a publication
// range can match: the range clipped to the stored years, or nil when there
// are no words, no range, or it spans more than maxFacetYears.
func storedYears(ctx context.Context, tx *sql.Tx, q *cve.SearchQuery) ([]int, error) {
	if cve.FTSQuery(q.Query) == "" || (q.PubFrom.IsZero() && q.PubTo.IsZero()) {
		return nil, nil
	}
	lo, hi, ok, err := publishedRange(ctx, tx)
	if err != nil || !ok {
		return nil, err
	}
	from, to := time.UnixMicro(lo).UTC().Year(), time.UnixMicro(hi).UTC().Year()
	if !q.PubFrom.IsZero() {
		from = max(from, q.PubFrom.UTC().Year())
	}
	if !q.PubTo.IsZero() {
		to = min(to, q.PubTo.Add(-time.Microsecond).UTC().Year())
	}
	if from > to || to-from >= maxFacetYears {
		return nil, nil
	}
	years := make([]int, 0, to-from+1)
	for y := from; y <= to; y++ {
		years = append(years, y)
	}
	return years, nil
}

// publishedRange returns the earliest and latest publication dates stored
// (unix microseconds); ok is false when nothing is stored.
func publishedRange(ctx context.Context, tx *sql.Tx) (lo, hi int64, ok bool, err error) {
	var l, h sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT min(published) FROM cve), (SELECT max(published) FROM cve)`).Scan(&l, &h); err != nil {
		return 0, 0, false, fmt.Errorf("cvedb: search: %w", err)
	}
	return l.Int64, h.Int64, l.Valid, nil
}

// maxNarrowMonths bounds the months byMonths counts before it gives up.
const maxNarrowMonths = 36

// byMonths narrows a search by publication date whose only filter is one
// full-text query with many matches (a vendor such as microsoft: 31,819 of
// 300,000) to the months of publication its page can come from: walking
// the publication index and testing each row against the full set of
// matching keys first builds that set (11 ms for microsoft; 2 ms to count
// it). The months are taken from the newest (the oldest, ascending) on,
// from the cursor's month, until the matches of the months after the
// cursor's number more than a page; the query then also matches one of
// those months' facet tokens, so SQLite sorts a few thousand matches at
// most. ok is false when no narrowing applies, or when it would take every
// stored month or more than maxNarrowMonths.
func byMonths(ctx context.Context, tx *sql.Tx, q *cve.SearchQuery, fs []filter) (narrowed []filter, ok bool, err error) {
	if len(fs) != 1 || fs[0].keys == "" || len(fs[0].args) != 1 {
		return nil, false, nil
	}
	match, isMatch := fs[0].args[0].(string)
	if !isMatch {
		return nil, false, nil
	}
	lo, hi, stored, err := publishedRange(ctx, tx)
	if err != nil || !stored {
		return nil, false, err
	}
	first, last, step := monthOf(lo), monthOf(hi), 1
	if q.Descending {
		first, last, step = last, first, -1
	}
	if q.After != nil {
		first = monthOf(int64(q.After.Value))
	}
	var months []string
	n := 0
	for m := first; (m-last)*step < 0 && len(months) < maxNarrowMonths; m += step {
		tok := `"` + monthToken(m) + `"`
		months = append(months, tok)
		if q.After != nil && m == first {
			continue // some of its matches come before the cursor
		}
		var c int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cve_fts WHERE cve_fts MATCH ?`, "("+match+") AND "+tok).Scan(&c); err != nil {
			return nil, false, fmt.Errorf("cvedb: search: %w", err)
		}
		if n += c; n > q.Limit {
			f := linkFilter("SELECT rowid FROM cve_fts WHERE cve_fts MATCH ?", "("+match+") AND ("+strings.Join(months, " OR ")+")")
			f.match = fs[0].match
			return []filter{f}, true, nil
		}
	}
	return nil, false, nil
}

// ftsFirstMax is the most full-text matches (facets included) for which a
// search with other filters is answered from the full-text matches alone:
// one pass that joins each to its row and tests the other filters. A
// variable so that tests can take either plan.
var ftsFirstMax = 5000

// sortHit is one match of collect: its key and sort value.
type sortHit struct {
	key int64
	v   float64
}

// collect answers a search that has words and other filters from its
// full-text matches, when they are at most ftsFirstMax (else ok is false
// and the caller plans as usual): one query reads the key, sort value and
// whether the other filters pass of every full-text match; the passing ones
// are sorted and counted for total, the page after the cursor is cut and
// its rows are read.
func collect(ctx context.Context, tx *sql.Tx, q *cve.SearchQuery, fs []filter, col string) (res cve.SearchResult, ok bool, err error) {
	res = cve.SearchResult{CVEs: []cve.Summary{}}
	var conds []string
	var args []any
	for _, f := range fs[1:] {
		conds = append(conds, f.scan)
		args = append(args, f.args...)
	}
	args = append(args, fs[0].args[0], ftsFirstMax+1)
	query := "SELECT c.key, c." + col + ", " + strings.Join(conds, " AND ") +
		" FROM (SELECT rowid FROM cve_fts WHERE cve_fts MATCH ? LIMIT ?) AS f JOIN cve AS c ON c.key = f.rowid"
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return res, false, fmt.Errorf("cvedb: search: %w", err)
	}
	var all []sortHit
	n := 0
	for rows.Next() {
		var h sortHit
		var iv int64
		var pass bool
		dst := any(&iv)
		if col == "best_score" {
			dst = &h.v
		}
		if err := rows.Scan(&h.key, dst, &pass); err != nil {
			rows.Close()
			return res, false, fmt.Errorf("cvedb: search: %w", err)
		}
		if n++; n > ftsFirstMax {
			rows.Close()
			return res, false, nil
		}
		if !pass {
			continue
		}
		if col != "best_score" {
			h.v = float64(iv)
		}
		all = append(all, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, false, fmt.Errorf("cvedb: search: %w", err)
	}
	res.Total = len(all)
	order := func(a, b sortHit) int {
		c := cmp.Compare(a.v, b.v)
		if c == 0 {
			c = cmp.Compare(a.key, b.key)
		}
		if q.Descending {
			return -c
		}
		return c
	}
	slices.SortFunc(all, order)
	if q.After != nil {
		after := sortHit{key: q.After.Key, v: q.After.Value}
		if col == "key" {
			after.v = float64(q.After.Key)
		}
		i, _ := slices.BinarySearchFunc(all, after, order)
		for i < len(all) && order(all[i], after) <= 0 {
			i++
		}
		all = all[i:]
	}
	page := all[:min(len(all), q.Limit)]
	hits, err := readHits(ctx, tx, page)
	if err != nil {
		return res, false, err
	}
	for _, h := range hits {
		res.CVEs = append(res.CVEs, h.summary())
	}
	if len(all) > q.Limit && len(hits) > 0 {
		res.NextCursor = cursorAfter(q.Sort, col, hits[len(hits)-1]).Encode()
	}
	return res, true, nil
}

// readHits reads the summary rows of page, in page order.
func readHits(ctx context.Context, tx *sql.Tx, page []sortHit) ([]hit, error) {
	if len(page) == 0 {
		return nil, nil
	}
	args := make([]any, len(page))
	for i, h := range page {
		args[i] = h.key
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+summaryColumns+" FROM cve WHERE key IN ("+placeholders(len(page))+")", args...)
	if err != nil {
		return nil, fmt.Errorf("cvedb: search: %w", err)
	}
	defer rows.Close()
	byKey := make(map[int64]hit, len(page))
	for rows.Next() {
		var h hit
		if err := h.scan(rows); err != nil {
			return nil, fmt.Errorf("cvedb: search: %w", err)
		}
		byKey[h.key] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cvedb: search: %w", err)
	}
	out := make([]hit, 0, len(page))
	for _, p := range page {
		out = append(out, byKey[p.key])
	}
	return out, nil
}
