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
func (s *Store) Search(ctx context.Context, q cve.SearchQuery) (cve.SearchResult, error) {
	if err := q.Validate(); err != nil {
		return cve.SearchResult{}, err
	}
	where, args := filters(&q)
	res := cve.SearchResult{CVEs: []cve.Summary{}}
	tx, err := s.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, fmt.Errorf("cvedb: search: %w", err)
	}
	defer tx.Rollback()
	if res.Total, err = s.total(ctx, tx, where, args); err != nil {
		return res, err
	}
	col := sortColumns[q.SortField]
	dir, cmp := "ASC", ">"
	if q.Descending {
		dir, cmp = "DESC", "<"
	}
	pageWhere, pageArgs := where, args
	if q.After != nil {
		pageWhere = append(pageWhere[:len(pageWhere):len(pageWhere)], fmt.Sprintf("(%s, key) %s (?, ?)", col, cmp))
		if col == "key" {
			pageWhere[len(pageWhere)-1] = "key " + cmp + " ?"
			pageArgs = append(pageArgs[:len(pageArgs):len(pageArgs)], q.After.Key)
		} else {
			pageArgs = append(pageArgs[:len(pageArgs):len(pageArgs)], cursorValue(col, q.After.Value), q.After.Key)
		}
	}
	query := "SELECT " + summaryColumns + " FROM cve" + whereClause(pageWhere) +
		fmt.Sprintf(" ORDER BY %s %s", col, dir)
	if col != "key" {
		query += fmt.Sprintf(", key %s", dir)
	}
	query += " LIMIT ?"
	rows, err := tx.QueryContext(ctx, query, append(pageArgs, q.Limit+1)...)
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

func (s *Store) total(ctx context.Context, tx *sql.Tx, where []string, args []any) (int, error) {
	query := `SELECT n FROM cve_count`
	if len(where) > 0 {
		query = "SELECT count(*) FROM cve" + whereClause(where)
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

// filters turns a validated query into SQL conditions and their arguments.
func filters(q *cve.SearchQuery) (conds []string, args []any) {
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if fts := cve.FTSQuery(q.Query); fts != "" {
		add("key IN (SELECT rowid FROM cve_fts WHERE cve_fts MATCH ?)", fts)
	} else if q.Query != "" {
		add("0") // only punctuation: nothing can match
	}
	if len(q.Severities) > 0 {
		add("best_severity IN ("+placeholders(len(q.Severities))+")", anys(q.Severities)...)
	}
	if q.CVSSMin != nil {
		add("best_score >= ?", *q.CVSSMin)
	}
	if q.CVSSMax != nil {
		add("best_score BETWEEN 0 AND ?", *q.CVSSMax)
	}
	if q.CWEID != "" {
		add("key IN (SELECT key FROM cve_cwe WHERE cwe = ?)", q.CWEID)
	}
	switch {
	case q.Vendor != "" && q.Product != "":
		add("key IN (SELECT key FROM cve_cpe WHERE vendor = ? AND product = ?)", q.Vendor, q.Product)
	case q.Vendor != "":
		add("key IN (SELECT key FROM cve_cpe WHERE vendor = ?)", q.Vendor)
	case q.Product != "":
		add("key IN (SELECT key FROM cve_cpe WHERE product = ?)", q.Product)
	}
	for _, r := range []struct {
		col      string
		from, to time.Time
	}{{"published", q.PubFrom, q.PubTo}, {"last_modified", q.ModFrom, q.ModTo}} {
		if !r.from.IsZero() {
			add(r.col+" >= ?", r.from.UnixMicro())
		}
		if !r.to.IsZero() {
			add(r.col+" < ?", r.to.UnixMicro())
		}
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	if q.KEV != nil {
		add("kev = ?", *q.KEV)
	}
	return conds, args
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
