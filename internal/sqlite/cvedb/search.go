package cvedb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/v2e/v2e/internal/cve"
)

// sortColumns maps a sort field to its column in cve.
var sortColumns = map[string]string{
	cve.SortPublished: "published",
	cve.SortModified:  "last_modified",
	cve.SortScore:     "best_score",
	cve.SortID:        "key",
}

const summaryColumns = `key, id, published, last_modified, status, description,
	best_score, best_severity, best_version, cwes, kev`

// Search returns one page of summaries matching q, ordered by q's sort key
// and then id. Paging with next_cursor is stable while records are added or
// changed: a page starts strictly after the last hit of the previous one.
// Errors about q wrap cve.ErrInvalid and name the field.
//
// The matches are counted first; the count picks the plan of the page
// query. Few matches: SQLite finds them through the filters' indexes and
// sorts them (on cve_key_order when every filter is a key list: the full
// text and its facets). Many: it walks the sort key's index and tests each row, which
// reaches limit hits after about limit*stored/matches rows. Unary "+" keeps
// SQLite from using a filter's index in the second plan.
func (s *Store) Search(ctx context.Context, q cve.SearchQuery) (cve.SearchResult, error) {
	if err := q.Validate(); err != nil {
		return cve.SearchResult{}, err
	}
	res := cve.SearchResult{CVEs: []cve.Summary{}}
	tx, err := s.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, fmt.Errorf("cvedb: search: %w", err)
	}
	defer tx.Rollback()
	var stored int
	if err := tx.QueryRowContext(ctx, `SELECT n FROM cve_count`).Scan(&stored); err != nil {
		return res, fmt.Errorf("cvedb: search: %w", err)
	}
	years, err := storedYears(ctx, tx, &q)
	if err != nil {
		return res, err
	}
	fs := filters(&q, years)
	col := sortColumns[q.SortField]
	if len(fs) > 1 && fs[0].match {
		if r, ok, err := collect(ctx, tx, &q, fs, col); err != nil || ok {
			return r, err
		}
	}
	if res.Total, err = count(ctx, tx, fs, stored); err != nil || res.Total == 0 {
		return res, err
	}
	scan := res.Total*res.Total > (q.Limit+1)*stored
	if scan && col == "published" {
		if narrowed, ok, err := byMonths(ctx, tx, &q, fs); err != nil {
			return res, err
		} else if ok {
			fs, scan = narrowed, false
		}
	}
	query, args := pageQuery(&q, fs, col, scan)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return res, fmt.Errorf("cvedb: search: %w", err)
	}
	defer rows.Close()
	var last hit
	for rows.Next() {
		var h hit
		if err := h.scan(rows); err != nil {
			return res, fmt.Errorf("cvedb: search: %w", err)
		}
		if len(res.CVEs) == q.Limit {
			res.NextCursor = cursorAfter(q.Sort, col, last).Encode()
			break
		}
		res.CVEs = append(res.CVEs, h.summary())
		last = h
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("cvedb: search: %w", err)
	}
	return res, nil
}

// pageQuery builds the query of one page: the filters (in the plan's form),
// the keyset condition after the cursor, the order and limit+1 rows (the
// extra one says whether there is a next page).
func pageQuery(q *cve.SearchQuery, fs []filter, col string, scan bool) (string, []any) {
	dir, cmp := "ASC", ">"
	if q.Descending {
		dir, cmp = "DESC", "<"
	}
	var conds []string
	var args []any
	for _, f := range fs {
		c := f.indexed
		if scan && f.column != col {
			c = f.scan
		}
		conds = append(conds, c)
		args = append(args, f.args...)
	}
	order := fmt.Sprintf(" ORDER BY %s %s, key %s", col, dir, dir)
	if col == "key" {
		order = " ORDER BY key " + dir
	}
	// Few matches, all from key lists: sort them on cve_key_order (their
	// keys and sort values) and read the table rows of the page only.
	covering := !scan && col != "key" && allLinks(fs)
	if q.After != nil {
		if col == "key" {
			conds = append(conds, "key "+cmp+" ?")
			args = append(args, q.After.Key)
		} else {
			conds = append(conds, fmt.Sprintf("(%s, key) %s (?, ?)", col, cmp))
			args = append(args, cursorValue(col, q.After.Value), q.After.Key)
		}
	}
	if covering {
		page := "SELECT key FROM cve INDEXED BY cve_key_order" + whereClause(conds) + order + " LIMIT ?"
		return "SELECT " + summaryColumns + " FROM cve WHERE key IN (" + page + ")" + order, append(args, q.Limit+1)
	}
	return "SELECT " + summaryColumns + " FROM cve" + whereClause(conds) + order + " LIMIT ?", append(args, q.Limit+1)
}

// allLinks says whether every filter is a key list (full text, facets).
func allLinks(fs []filter) bool {
	for _, f := range fs {
		if f.keys == "" {
			return false
		}
	}
	return len(fs) > 0
}

// count returns how many records match. Filters that are all key lists
// (full text and facets) are counted in those alone.
func count(ctx context.Context, tx *sql.Tx, fs []filter, stored int) (int, error) {
	if len(fs) == 0 {
		return stored, nil
	}
	var links, conds []string
	var args []any
	for _, f := range fs {
		links = append(links, f.keys)
		conds = append(conds, f.indexed)
		args = append(args, f.args...)
	}
	query := "SELECT count(*) FROM cve" + whereClause(conds)
	if allLinks(fs) {
		query = "SELECT count(*) FROM (" + strings.Join(links, " INTERSECT ") + ")"
	}
	var n int
	if err := tx.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("cvedb: search: count: %w", err)
	}
	return n, nil
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// filter is one search condition in two forms: indexed (SQLite may drive
// the query from it) and scan (a per-row test). A key-list filter also has
// keys, a query of the distinct matching keys; a column filter names its
// column.
type filter struct {
	indexed, scan string
	keys          string
	column        string
	match         bool // the full-text filter with words; args[0] is the FTS5 query
	args          []any
}

func columnFilter(column, cond string, args ...any) filter {
	return filter{indexed: column + cond, scan: "+" + column + cond, column: column, args: args}
}

func linkFilter(keys string, args ...any) filter {
	return filter{indexed: "key IN (" + keys + ")", scan: "+key IN (" + keys + ")", keys: keys, args: args}
}

// filters turns a validated query into conditions. The CWE, vendor and
// product filters are facet tokens of one full-text query (facet.go),
// with the words when there are any; with words, the severity filter and
// the years of a publication date range become facet tokens too, and the
// date range stays a column filter as well, for its exact bounds.
func filters(q *cve.SearchQuery, years []int) []filter {
	var fs []filter
	words := cve.FTSQuery(q.Query)
	if words == "" && q.Query != "" {
		fs = append(fs, filter{indexed: "0", scan: "0", keys: "SELECT 1 WHERE 0"}) // only punctuation: nothing matches
	}
	if match := facetMatch(words, q, years); match != "" {
		fs = append(fs, linkFilter("SELECT rowid FROM cve_fts WHERE cve_fts MATCH ?", match))
		fs[len(fs)-1].match = words != ""
	}
	if len(q.Severities) > 0 && words == "" {
		fs = append(fs, columnFilter("best_severity", " IN ("+placeholders(len(q.Severities))+")", anys(q.Severities)...))
	}
	if q.CVSSMin != nil {
		fs = append(fs, columnFilter("best_score", " >= ?", *q.CVSSMin))
	}
	if q.CVSSMax != nil {
		fs = append(fs, columnFilter("best_score", " BETWEEN 0 AND ?", *q.CVSSMax))
	}
	for _, r := range []struct {
		col      string
		from, to time.Time
	}{{"published", q.PubFrom, q.PubTo}, {"last_modified", q.ModFrom, q.ModTo}} {
		if !r.from.IsZero() {
			fs = append(fs, columnFilter(r.col, " >= ?", r.from.UnixMicro()))
		}
		if !r.to.IsZero() {
			fs = append(fs, columnFilter(r.col, " < ?", r.to.UnixMicro()))
		}
	}
	if q.Status != "" {
		fs = append(fs, columnFilter("status", " = ?", q.Status))
	}
	if q.KEV != nil {
		fs = append(fs, columnFilter("kev", " = ?", *q.KEV))
	}
	return mergeLinks(fs)
}

// mergeLinks turns several key-list filters into one over the
// intersection of their keys, so that SQLite seeks table rows only for keys
// that pass all of them (otherwise it drives from one key list, such as every
// record holding a common word, and tests the others row by row).
func mergeLinks(fs []filter) []filter {
	var links, out []filter
	for _, f := range fs {
		if f.keys != "" {
			links = append(links, f)
		} else {
			out = append(out, f)
		}
	}
	if len(links) < 2 {
		return fs
	}
	var keys []string
	var args []any
	for _, l := range links {
		keys = append(keys, l.keys)
		args = append(args, l.args...)
	}
	return append([]filter{linkFilter(strings.Join(keys, " INTERSECT "), args...)}, out...)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// cursorValue gives the cursor's sort value the column's SQL type.
func cursorValue(col string, v float64) any {
	if col == "best_score" {
		return v
	}
	return int64(v)
}

// hit is one row of a search.
type hit struct {
	key, published, modified int64
	id, status, description  string
	score                    float64
	severity, version, cwes  string
	kev                      bool
}

func (h *hit) scan(rows *sql.Rows) error {
	return rows.Scan(&h.key, &h.id, &h.published, &h.modified, &h.status, &h.description,
		&h.score, &h.severity, &h.version, &h.cwes, &h.kev)
}

func (h *hit) summary() cve.Summary {
	s := cve.Summary{
		ID:           h.id,
		Published:    cve.FormatTime(time.UnixMicro(h.published)),
		LastModified: cve.FormatTime(time.UnixMicro(h.modified)),
		Status:       h.status,
		Description:  h.description,
		CVSSSeverity: h.severity,
		CVSSVersion:  h.version,
		CWEIDs:       splitList(h.cwes),
		KEV:          h.kev,
	}
	if h.score >= 0 {
		score := h.score
		s.CVSSScore = &score
	}
	return s
}

func cursorAfter(sort, col string, h hit) cve.Cursor {
	c := cve.Cursor{Sort: sort, Key: h.key}
	switch col {
	case "published":
		c.Value = float64(h.published)
	case "last_modified":
		c.Value = float64(h.modified)
	case "best_score":
		c.Value = h.score
	}
	return c
}
