package cwedb

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkImportFile measures a whole import of the shipped CWE 4.15 zip:
// unzip, parse, check and store in one transaction into a fresh database.
func BenchmarkImportFile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := Open(context.Background(), filepath.Join(b.TempDir(), "cwe.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.ImportFile(context.Background(), catalogZip); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
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
// in one transaction into a fresh database.
func BenchmarkImport(b *testing.B) {
	c := catalog(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := Open(context.Background(), filepath.Join(b.TempDir(), "cwe.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Import(context.Background(), c, "bench"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}
