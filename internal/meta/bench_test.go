package meta

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/urn"
)

// BenchmarkCheckpointPage measures what the ingest path pays for
// checkpoints per 2000-record page at checkpoint_every 100 (20 checkpoints
// queued on a fsynced session.db), and reports it as a share of the time
// the page takes at 10,000 CVE/s (200 ms).
//
//	go test -run '^$' -bench CheckpointPage ./internal/meta
func BenchmarkCheckpointPage(b *testing.B) {
	store, err := bolt.Open(filepath.Join(b.TempDir(), "session.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	r := &router{h: map[string]func(context.Context, json.RawMessage) (any, error){}, calls: map[string]int{}}
	e, err := New(Config{Store: store, Caller: r, CheckpointEvery: 100})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	p := e.providers[ProviderCVE]
	if err := p.start(StartOptions{}); err != nil { // persists the record; the loop stops at once
		b.Fatal(err)
	}
	p.shutdown()
	ids := make([]urn.URN, 2000)
	for i := range ids {
		ids[i] = urn.MustParse("v2e::nvd::cve::CVE-2026-" + itoa(10000+i))
	}
	cur := cveCursor{Mode: "full", PageSize: 2000}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cur.Next += 2000
		cur.Done += 2000
		if err := p.advance(2000, cur, func(i int) (urn.URN, error) { return ids[i], nil }, 2000, false); err != nil {
			b.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond / 20) // pace like a 10k CVE/s ingest (a page every 200 ms), compressed 20x
	}
	b.StopTimer()
	perPage := p.checkpointTime().Seconds() / float64(b.N)
	b.ReportMetric(perPage*1e6, "µs-checkpoint/page")
	b.ReportMetric(100*perPage/0.2, "%of-10k/s-ingest")
	if err := e.cw.Flush(); err != nil {
		b.Fatal(err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
