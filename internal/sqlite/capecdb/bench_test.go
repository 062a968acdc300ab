package capecdb

import (
	"context"
	"testing"

	"github.com/v2e/v2e/internal/sqlite/sqlitetest"
)

// BenchmarkImportFile measures a whole strict import of the shipped CAPEC 3.9
// catalog: XSD load, validation, parse and store into a fresh database.
func BenchmarkImportFile(b *testing.B) {
	open := func(path string) (*Store, error) { return Open(context.Background(), path) }
	sqlitetest.BenchFresh(b, "capec.db", open, func(s *Store) error {
		_, err := s.ImportFile(context.Background(), catalogPath, ImportOptions{XSDPath: schemaPath, Strict: true})
		return err
	})
}

// BenchmarkListFilter measures RPCListCAPECs' store call, one page of 50
// with its total, over the 615 attack patterns, for a few q.
func BenchmarkListFilter(b *testing.B) {
	sqlitetest.BenchFilter(b, sqlitetest.PageList(imported(b).List), "", "injection", "CAPEC-66", "phish", "xyzzy")
}

// BenchmarkChain measures the CAPEC side of a CWE → CAPEC → ATT&CK lookup.
func BenchmarkChain(b *testing.B) {
	s := imported(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ids, err := s.CAPECsForCWE(ctx, "CWE-79")
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			if _, err := s.AttackTechniquesForCAPEC(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	}
}
