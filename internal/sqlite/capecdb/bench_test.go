package capecdb

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkImportFile measures a whole strict import of the shipped CAPEC 3.9
// catalog: XSD load, validation, parse and store into a fresh database.
func BenchmarkImportFile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := Open(context.Background(), filepath.Join(b.TempDir(), "capec.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.ImportFile(context.Background(), catalogPath, ImportOptions{XSDPath: schemaPath, Strict: true}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
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
