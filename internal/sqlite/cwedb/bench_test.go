package cwedb

import (
	"context"
	"testing"

	"github.com/v2e/v2e/internal/sqlite/sqlitetest"
)

func openAt(path string) (*Store, error) { return Open(context.Background(), path) }

// BenchmarkImportFile measures a whole import of the shipped CWE 4.15 zip:
// unzip, parse, check and store in one transaction into a fresh database.
func BenchmarkImportFile(b *testing.B) {
	sqlitetest.BenchFresh(b, "cwe.db", openAt, func(s *Store) error {
		_, err := s.ImportFile(context.Background(), catalogZip)
		return err
	})
}

// BenchmarkGet measures reading one rich weakness by id.
func BenchmarkGet(b *testing.B) {
	s := imported(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "CWE-79"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport measures only the store side: the parsed catalog written
// in one transaction into a fresh database (text index included).
func BenchmarkImport(b *testing.B) {
	c := catalog(b)
	sqlitetest.BenchFresh(b, "cwe.db", openAt, func(s *Store) error {
		_, err := s.Import(context.Background(), c, "bench")
		return err
	})
}

// BenchmarkListFilter measures RPCListCWEs' store call, one page of 50 with
// its total, over the 964 weaknesses, for a few q.
func BenchmarkListFilter(b *testing.B) {
	sqlitetest.BenchFilter(b, sqlitetest.PageList(imported(b).List), "", "injection", "sql injection", "CWE-79", "inp", "xyzzy")
}

// BenchmarkListFilterLike is what the full-text index replaced: the same
// page and count with LIKE '%q%' over name and description (a full scan; no
// index serves a pattern with a leading %), for comparison.
func BenchmarkListFilterLike(b *testing.B) {
	s := imported(b)
	r := s.db.Reader()
	sqlitetest.BenchFilter(b, func(q string, offset, limit int) ([]string, int, error) {
		const where = ` FROM weaknesses WHERE name LIKE ?1 OR description LIKE ?1`
		like := "%" + q + "%"
		var total int
		if err := r.QueryRow(`SELECT count(*)`+where, like).Scan(&total); err != nil {
			return nil, 0, err
		}
		rows, err := r.Query(`SELECT id, name, abstraction, structure, status, description`+where+` ORDER BY id LIMIT ? OFFSET ?`, like, limit, offset)
		if err != nil {
			return nil, 0, err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return nil, total, rows.Err()
	}, "injection", "sql injection", "xyzzy")
}
