// Package capecdb is the SQLite store of the CAPEC catalog (capec.db): attack
// patterns, categories, views, and the links from attack patterns to CWE
// weaknesses and ATT&CK techniques.
//
// An import validates the file against its XSD (strictly or not), parses it
// and replaces the catalog in one write transaction, so a failed import leaves
// the previous catalog whole and readers never see a mix. An import of the
// version already stored is skipped unless forced. Entries are kept as the JSON
// of the capec domain types (snake_case keys). All methods are safe for
// concurrent use; writes are serialised on internal/sqlite's writer connection.
package capecdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/v2e/v2e/internal/capec"
	"github.com/v2e/v2e/internal/sqlite"
)

// ErrBadRequest is wrapped by errors about a caller's parameters. It is
// sqlite.ErrBadRequest, which every catalog store shares.
var ErrBadRequest = sqlite.ErrBadRequest

// Store is the CAPEC database.
type Store struct {
	db *sqlite.DB
	// Now stamps imports; tests replace it.
	Now func() time.Time
}

// Open opens or creates the database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlite.Open(ctx, path, migrations)
	if err != nil {
		return nil, fmt.Errorf("capecdb: %w", err)
	}
	return &Store{db: db, Now: time.Now}, nil
}

// Close closes the database; it is safe to call twice.
func (s *Store) Close() error { return s.db.Close() }

// Page is one page of a list.
type Page = sqlite.Page

// Summary is the list form of an attack pattern.
type Summary struct {
	Kind        string `json:"kind"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Abstraction string `json:"abstraction"`
	Status      string `json:"status"`
	Likelihood  string `json:"likelihood,omitempty"`
	Severity    string `json:"severity,omitempty"`
	Description string `json:"description"`
}

// Meta describes the stored catalog (RPCGetCAPECCatalogMeta). Before the
// first import every field is zero.
type Meta struct {
	Version        string `json:"version"`
	ReleaseDate    string `json:"release_date"`
	TotalCount     int    `json:"total_count"`
	Name           string `json:"name,omitempty"`
	Source         string `json:"source,omitempty"`
	ImportedAt     string `json:"imported_at,omitempty"`
	SchemaWarnings int    `json:"schema_warnings"`
	Categories     int    `json:"categories"`
	Views          int    `json:"views"`
	CWELinks       int    `json:"cwe_links"`
	AttackLinks    int    `json:"attack_links"`
}

// Get returns the attack pattern, category or view with the given id
// ("CAPEC-66" or "66") as stored JSON. Errors wrap capec.ErrInvalidID or
// capec.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (json.RawMessage, error) {
	n, err := capec.ParseID(id)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = s.db.Reader().QueryRowContext(ctx, `SELECT data FROM attack_patterns WHERE id = ?1
		UNION ALL SELECT data FROM categories WHERE id = ?1 UNION ALL SELECT data FROM views WHERE id = ?1 LIMIT 1`, n).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", capec.ErrNotFound, capec.FormatID(n))
	}
	if err != nil {
		return nil, fmt.Errorf("capecdb: get %s: %w", capec.FormatID(n), err)
	}
	return data, nil
}

// AttackPattern returns the attack pattern with the given id, decoded.
func (s *Store) AttackPattern(ctx context.Context, id string) (*capec.AttackPattern, error) {
	n, err := capec.ParseID(id)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = s.db.Reader().QueryRowContext(ctx, `SELECT data FROM attack_patterns WHERE id = ?`, n).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s is not an attack pattern", capec.ErrNotFound, capec.FormatID(n))
	}
	if err != nil {
		return nil, fmt.Errorf("capecdb: get %s: %w", capec.FormatID(n), err)
	}
	var a capec.AttackPattern
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("capecdb: decode %s: %w", capec.FormatID(n), err)
	}
	return &a, nil
}

// List returns one page of attack pattern summaries ordered by id, and how
// many attack patterns match q.Q: those whose id is q.Q ("CAPEC-66" or "66")
// or whose name and description hold every word of it (sqlite.Match).
// Errors wrap ErrBadRequest.
func (s *Store) List(ctx context.Context, q sqlite.ListQuery) (Page, error) {
	q, err := q.Normalize()
	if err != nil {
		return Page{}, err
	}
	l := sqlite.ListSQL{Columns: `id, name, abstraction, status, likelihood, severity, description`,
		From: `attack_patterns`, Order: `id`}
	if match := sqlite.Match(q.Q); match != "" {
		id, _ := capec.ParseID(q.Q) // 0, which no entry has, when q is not an id
		l.Where = `(id = ? OR id IN (SELECT rowid FROM attack_patterns_fts WHERE attack_patterns_fts MATCH ?))`
		l.Args = []any{id, match}
	}
	p, err := s.db.Page(ctx, q, l, func(rows *sql.Rows) (json.RawMessage, error) {
		var id int
		sum := Summary{Kind: capec.KindAttackPattern}
		if err := rows.Scan(&id, &sum.Name, &sum.Abstraction, &sum.Status, &sum.Likelihood, &sum.Severity, &sum.Description); err != nil {
			return nil, err
		}
		sum.ID = capec.FormatID(id)
		return json.Marshal(sum)
	})
	if err != nil {
		return p, fmt.Errorf("capecdb: %w", err)
	}
	return p, nil
}

// Meta describes the stored catalog.
func (s *Store) Meta(ctx context.Context) (Meta, error) {
	var m Meta
	r := s.db.Reader()
	err := r.QueryRowContext(ctx, `SELECT name, version, release_date, total_count, source, imported_at, schema_warnings
		FROM catalog_meta`).Scan(&m.Name, &m.Version, &m.ReleaseDate, &m.TotalCount, &m.Source, &m.ImportedAt, &m.SchemaWarnings)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("capecdb: meta: %w", err)
	}
	err = r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM categories), (SELECT count(*) FROM views),
		(SELECT count(*) FROM cwe_links), (SELECT count(*) FROM attack_links)`).Scan(&m.Categories, &m.Views, &m.CWELinks, &m.AttackLinks)
	if err != nil {
		return m, fmt.Errorf("capecdb: meta: %w", err)
	}
	return m, nil
}
