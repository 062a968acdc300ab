// Package cwedb is the SQLite store of the CWE catalog (cwe.db): weaknesses,
// categories, views, the relationships between them and their links to CAPEC.
//
// An import replaces the catalog in one write transaction: a file that does not
// parse, or a failure while writing, leaves the previous catalog whole, and
// readers see either the old or the new catalog, never a mix. Entries are kept
// as the JSON of the cwe domain types (snake_case keys) next to the columns
// that are searched. All methods are safe for concurrent use: writes are
// serialised on the single writer connection of internal/sqlite.
package cwedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/v2e/v2e/internal/cwe"
	"github.com/v2e/v2e/internal/sqlite"
)

// ErrBadRequest is wrapped by errors about a caller's parameters (a bad
// offset or q, an unknown relationship type, a view without id). It is
// sqlite.ErrBadRequest, which every catalog store shares.
var ErrBadRequest = sqlite.ErrBadRequest

// Store is the CWE database.
type Store struct {
	db *sqlite.DB
	// Now stamps imports; tests replace it.
	Now func() time.Time
}

// Open opens or creates the database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlite.Open(ctx, path, migrations)
	if err != nil {
		return nil, fmt.Errorf("cwedb: %w", err)
	}
	return &Store{db: db, Now: time.Now}, nil
}

// Close closes the database; it is safe to call twice.
func (s *Store) Close() error { return s.db.Close() }

// Page is one page of a list.
type Page = sqlite.Page

// Summary is the list form of a weakness.
type Summary struct {
	Kind        string `json:"kind"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Abstraction string `json:"abstraction"`
	Structure   string `json:"structure"`
	Status      string `json:"status"`
	Description string `json:"description"`
}

// Meta describes the stored catalog.
type Meta struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	ReleaseDate string `json:"release_date"`
	Source      string `json:"source"`
	ImportedAt  string `json:"imported_at"`
	Weaknesses  int    `json:"weaknesses"`
	Categories  int    `json:"categories"`
	Views       int    `json:"views"`
	CAPECLinks  int    `json:"capec_links"`
}

// Get returns the weakness or category with the given id ("CWE-79" or
// "79") as stored JSON. Errors wrap cwe.ErrInvalidID or cwe.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (json.RawMessage, error) {
	n, err := cwe.ParseID(id)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = s.db.Reader().QueryRowContext(ctx,
		`SELECT data FROM weaknesses WHERE id = ? UNION ALL SELECT data FROM categories WHERE id = ? LIMIT 1`, n, n).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", cwe.ErrNotFound, cwe.FormatID(n))
	}
	if err != nil {
		return nil, fmt.Errorf("cwedb: get %s: %w", cwe.FormatID(n), err)
	}
	return data, nil
}

// Weakness returns the weakness with the given id, decoded.
func (s *Store) Weakness(ctx context.Context, id string) (*cwe.Weakness, error) {
	n, err := cwe.ParseID(id)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = s.db.Reader().QueryRowContext(ctx, `SELECT data FROM weaknesses WHERE id = ?`, n).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s is not a weakness", cwe.ErrNotFound, cwe.FormatID(n))
	}
	if err != nil {
		return nil, fmt.Errorf("cwedb: get %s: %w", cwe.FormatID(n), err)
	}
	var w cwe.Weakness
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("cwedb: decode %s: %w", cwe.FormatID(n), err)
	}
	return &w, nil
}

// List returns one page of weakness summaries ordered by id, and how many
// weaknesses match q.Q: those whose id is q.Q ("CWE-79" or "79") or whose
// name and description hold every word of it (sqlite.Match). Errors wrap
// ErrBadRequest.
func (s *Store) List(ctx context.Context, q sqlite.ListQuery) (Page, error) {
	q, err := q.Normalize()
	if err != nil {
		return Page{}, err
	}
	l := sqlite.ListSQL{Columns: `id, name, abstraction, structure, status, description`, From: `weaknesses`, Order: `id`}
	l.Where, l.Args = textFilter(q.Q, "weaknesses_fts")
	p, err := s.db.Page(ctx, q, l, func(rows *sql.Rows) (json.RawMessage, error) {
		var id int
		sum := Summary{Kind: cwe.KindWeakness}
		if err := rows.Scan(&id, &sum.Name, &sum.Abstraction, &sum.Structure, &sum.Status, &sum.Description); err != nil {
			return nil, err
		}
		sum.ID = cwe.FormatID(id)
		return json.Marshal(sum)
	})
	if err != nil {
		return p, fmt.Errorf("cwedb: %w", err)
	}
	return p, nil
}

// textFilter is the WHERE clause of a q filter over a table keyed by CWE
// number with a full-text index: the id, or every word in the text. It is
// empty when q keeps every row.
func textFilter(q, index string) (string, []any) {
	match := sqlite.Match(q)
	if match == "" {
		return "", nil
	}
	id, _ := cwe.ParseID(q) // 0, which no entry has, when q is not an id
	return "(id = ? OR id IN (SELECT rowid FROM " + index + " WHERE " + index + " MATCH ?))", []any{id, match}
}

// Meta describes the stored catalog; Version is empty before the first import.
func (s *Store) Meta(ctx context.Context) (Meta, error) {
	var m Meta
	r := s.db.Reader()
	err := r.QueryRowContext(ctx, `SELECT name, version, release_date, source, imported_at FROM catalog_meta`).
		Scan(&m.Name, &m.Version, &m.ReleaseDate, &m.Source, &m.ImportedAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("cwedb: meta: %w", err)
	}
	err = r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM weaknesses), (SELECT count(*) FROM categories),
		(SELECT count(*) FROM views), (SELECT count(*) FROM capec_links)`).
		Scan(&m.Weaknesses, &m.Categories, &m.Views, &m.CAPECLinks)
	if err != nil {
		return m, fmt.Errorf("cwedb: meta: %w", err)
	}
	return m, nil
}
