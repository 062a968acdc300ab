package attackdb

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/attack"
	"github.com/v2e/v2e/internal/attack/xlsx"
	"github.com/v2e/v2e/internal/sqlite/sqlitetest"
)

// cpuMeter reports CPU seconds per operation (user + system, every
// goroutine) and the process's peak RSS: on a shared machine wall time
// depends on the neighbours, CPU time does not.
func cpuMeter(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchNewStores runs store on a new database each iteration and reports
// CPU time and peak RSS.
func benchNewStores(b *testing.B, store func(*Store) error) {
	b.ReportAllocs()
	defer cpuMeter(b)()
	for i := 0; b.Loop(); i++ {
		s, err := Open(context.Background(), filepath.Join(b.TempDir(), fmt.Sprintf("attack%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := store(s); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkImport stores the three v18.1 catalogs (already loaded) into a
// new database: the SQLite side of RPCImportATTACKs.
func BenchmarkImport(b *testing.B) {
	cats := []*attack.Catalog{catalog(b, enterprise18), catalog(b, mobile18), catalog(b, ics18)}
	benchNewStores(b, func(s *Store) error {
		_, err := s.Import(context.Background(), cats...)
		return err
	})
}

// BenchmarkLoadAndImport is the whole of RPCImportATTACKs on the assets
// folder: load the three v18.1 workbooks (two at a time) and store them
// into a new database while they load (ImportStream fed by
// xlsx.LoadPathTo).
func BenchmarkLoadAndImport(b *testing.B) {
	benchNewStores(b, func(s *Store) error {
		_, err := s.ImportStream(context.Background(), func(st attack.Sink) error {
			_, err := xlsx.LoadPathTo(assetsDir, st)
			return err
		})
		return err
	})
}

// BenchmarkLoadThenImport is BenchmarkLoadAndImport without the overlap:
// xlsx.LoadPath, then Import.
func BenchmarkLoadThenImport(b *testing.B) {
	benchNewStores(b, func(s *Store) error {
		cats, err := xlsx.LoadPath(assetsDir)
		if err != nil {
			return err
		}
		_, err = s.Import(context.Background(), cats...)
		return err
	})
}

// BenchmarkReimport imports v18.1 enterprise over v14.1 enterprise.
func BenchmarkReimport(b *testing.B) {
	old, cur := catalog(b, enterprise14), catalog(b, enterprise18)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		s, err := Open(context.Background(), filepath.Join(b.TempDir(), fmt.Sprintf("attack%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Import(context.Background(), old); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Import(context.Background(), cur); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

func BenchmarkGetTechnique(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetTechnique(context.Background(), "T1059.001", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTechniqueLinks(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.TechniqueLinks(context.Background(), "T1059", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListTechniques1000(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.ListTechniques(context.Background(), attack.ListOptions{Limit: attack.MaxLimit}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListFilter measures RPCListAttackTechniques' and
// RPCListAttackGroups' store calls over the three v18.1 workbooks (898
// techniques, 203 groups; 2,257 objects indexed), one page of 50 with its
// total, for a few q.
func BenchmarkListFilter(b *testing.B) {
	s := benchStore(b)
	b.Run("techniques", func(b *testing.B) {
		sqlitetest.BenchFilter(b, lister(s.ListTechniques, attack.ListOptions{}), "", "T1059", "phishing", "command and scripting", "xyzzy")
	})
	b.Run("groups", func(b *testing.B) {
		sqlitetest.BenchFilter(b, lister(s.ListGroups, attack.ListOptions{}), "", "fancy bear", "G0007")
	})
}

func BenchmarkMatrix(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Matrix(context.Background(), "enterprise"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStore(b *testing.B) *Store {
	s := open(b)
	if _, err := s.Import(context.Background(), catalog(b, enterprise18), catalog(b, mobile18), catalog(b, ics18)); err != nil {
		b.Fatal(err)
	}
	return s
}
