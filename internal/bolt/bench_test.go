package bolt

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/urn"
)

// benchURNs returns the URNs of the 1,069 CVEs of NVD's 2026 feed.
func benchURNs(b *testing.B) []urn.URN {
	ids := cveIDs(b, "../../assets/nvd/nvdcve-2.0-2026.json")
	us := make([]urn.URN, len(ids))
	for i, id := range ids {
		us[i] = urn.MustParse("v2e::nvd::cve::" + id)
	}
	return us
}

func benchStore(b *testing.B, nosync bool) *Store {
	s, err := Open(filepath.Join(b.TempDir(), "session.db"), Options{NoSync: nosync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchAdd(b *testing.B, nosync bool) {
	us := benchURNs(b)
	s := benchStore(b, nosync)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.AddCheckpoint(us[i%len(us)], "cve", true, "", time.Time{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAddCheckpointSync is one durable (fsynced) checkpoint commit.
func BenchmarkAddCheckpointSync(b *testing.B) { benchAdd(b, false) }

// BenchmarkAddCheckpointNoSync is one checkpoint commit without fsync.
func BenchmarkAddCheckpointNoSync(b *testing.B) { benchAdd(b, true) }

func benchProgress(b *testing.B, nosync bool) {
	us := benchURNs(b)
	s := benchStore(b, nosync)
	rec := &ProviderRecord{ID: "cve", Type: "cve", State: fsm.ProviderRunning, PermitsHeld: 4}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec.ProcessedCount += 100
		if _, err := s.CommitProgress(rec, Checkpoint{URN: us[i%len(us)], Success: true}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCommitProgressSync is the ingest hot path: checkpoint plus
// provider record in one fsynced transaction.
func BenchmarkCommitProgressSync(b *testing.B) { benchProgress(b, false) }

// BenchmarkCommitProgressNoSync is the same without fsync.
func BenchmarkCommitProgressNoSync(b *testing.B) { benchProgress(b, true) }

// BenchmarkListCheckpoints lists the newest 100 of 10,000 checkpoints.
func BenchmarkListCheckpoints(b *testing.B) {
	us := benchURNs(b)
	s := benchStore(b, true)
	err := s.Update(func(tx *Tx) error {
		for i := range 10000 {
			if _, err := tx.AddCheckpoint(Checkpoint{URN: us[i%len(us)], ProviderID: "cve", Success: i%10 != 0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if cs, _, err := s.ListCheckpoints("cve", 100, true); err != nil || len(cs) != 100 {
			b.Fatal(len(cs), err)
		}
	}
}

func benchWriter(b *testing.B, nosync bool) {
	us := benchURNs(b)
	s := benchStore(b, nosync)
	commits := 0
	w := s.NewCheckpointWriter(WriterOptions{OnCommit: func([]Checkpoint) { commits++ }})
	rec := &ProviderRecord{ID: "cve", Type: "cve", State: fsm.ProviderRunning, PermitsHeld: 4}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec.ProcessedCount += 100
		if err := w.Add(rec, Checkpoint{URN: us[i%len(us)], Success: true}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(i)/float64(max(commits, 1)), "checkpoints/commit")
}

// BenchmarkWriterSync is the amortised cost of one checkpoint (with its
// provider record) through the write-behind CheckpointWriter on a fsynced
// store, including the final commit.
func BenchmarkWriterSync(b *testing.B) { benchWriter(b, false) }

// BenchmarkWriterNoSync is the same without fsync.
func BenchmarkWriterNoSync(b *testing.B) { benchWriter(b, true) }

// BenchmarkWriterPaced adds one checkpoint per 100 CVEs at 10,000 CVE/s (one
// every 10ms, simulated by a busy wait) and reports the time Add takes on
// the ingest goroutine, which is what the ingest pays.
func BenchmarkWriterPaced(b *testing.B) {
	us := benchURNs(b)
	s := benchStore(b, false)
	w := s.NewCheckpointWriter(WriterOptions{})
	rec := &ProviderRecord{ID: "cve", Type: "cve", State: fsm.ProviderRunning}
	var inAdd time.Duration
	var each []time.Duration
	i := 0
	for b.Loop() {
		next := time.Now().Add(10 * time.Millisecond)
		start := time.Now()
		if err := w.Add(rec, Checkpoint{URN: us[i%len(us)], Success: true}); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		inAdd += d
		each = append(each, d)
		i++
		for time.Now().Before(next) {
			time.Sleep(time.Millisecond)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	slices.Sort(each)
	b.ReportMetric(float64(inAdd.Nanoseconds())/float64(i), "mean-ns-in-Add")
	b.ReportMetric(float64(each[len(each)/2].Nanoseconds()), "p50-ns-in-Add")
	b.ReportMetric(100*float64(inAdd)/float64(time.Duration(i)*10*time.Millisecond), "%-of-ingest")
}
