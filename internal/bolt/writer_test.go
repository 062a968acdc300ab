package bolt

import (
	"errors"
	"sync"
	"testing"

	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/urn"
)

func TestCheckpointWriter(t *testing.T) {
	c := &clock{t0}
	s, path := openTemp(t, c)
	ids := cveIDs(t, "../../testdata/nvd/pages/vunnel/full-page.json")
	var mu sync.Mutex
	var seen []Checkpoint
	w := s.NewCheckpointWriter(WriterOptions{MaxPending: 8, OnCommit: func(b []Checkpoint) {
		mu.Lock()
		seen = append(seen, b...)
		mu.Unlock()
	}})
	// Two providers write concurrently; each keeps its own record.
	var wg sync.WaitGroup
	for _, p := range []string{"cve", "cve-modified"} {
		wg.Go(func() {
			rec := &ProviderRecord{ID: p, Type: "cve", State: fsm.ProviderRunning}
			for _, id := range ids {
				rec.ProcessedCount += 100
				if err := w.Add(rec, Checkpoint{URN: urn.MustParse("v2e::nvd::cve::" + id), Success: true}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) != 2*len(ids) {
		t.Errorf("OnCommit saw %d checkpoints, want %d", len(seen), 2*len(ids))
	}
	mu.Unlock()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Add(nil, Checkpoint{URN: urn.MustParse("v2e::nvd::cve::CVE-2021-44228"), ProviderID: "cve"}); !errors.Is(err, ErrWriterClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	s = reopen(t, s, path, c)
	for _, p := range []string{"cve", "cve-modified"} {
		cs, total, err := s.ListCheckpoints(p, 1, false)
		if err != nil || total != len(ids) || cs[0].URN.ID() != ids[len(ids)-1] {
			t.Errorf("%s: total %d newest %v, %v", p, total, cs, err)
		}
		rec, err := s.LoadProvider(p)
		if err != nil || rec.ProcessedCount != int64(100*len(ids)) || rec.LastCheckpoint.ID() != ids[len(ids)-1] {
			t.Errorf("%s record %+v, %v", p, rec, err)
		}
	}
}

func TestCheckpointWriterStickyError(t *testing.T) {
	s, _ := openTemp(t, &clock{t0})
	w := s.NewCheckpointWriter(WriterOptions{})
	u := urn.MustParse("v2e::nvd::cve::CVE-2021-44228")
	if err := w.Add(nil, Checkpoint{URN: urn.URN{}, ProviderID: "cve"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero URN: %v", err)
	}
	if err := w.Add(&ProviderRecord{ID: "cwe"}, Checkpoint{URN: u, ProviderID: "cve"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("record of another provider: %v", err)
	}
	s.Close() // the next commit fails
	if err := w.Add(nil, Checkpoint{URN: u, ProviderID: "cve"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after the store closed: %v", err)
	}
	if err := w.Add(nil, Checkpoint{URN: u, ProviderID: "cve"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after a failed commit: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close: %v", err)
	}
}

func TestCheckpointWriterKeepsTransitionFields(t *testing.T) {
	c := &clock{t0}
	s, _ := openTemp(t, c)
	w := s.NewCheckpointWriter(WriterOptions{})
	defer w.Close()
	// The provider was paused (persisted by its transition) while a batch
	// carrying its RUNNING-era record was still queued.
	if err := s.SaveProvider(&ProviderRecord{ID: "cve", Type: "cve", State: fsm.ProviderPaused, LastError: "user pause"}); err != nil {
		t.Fatal(err)
	}
	stale := &ProviderRecord{ID: "cve", State: fsm.ProviderRunning, PermitsHeld: 4, ProcessedCount: 2000,
		Cursor: []byte(`{"start_index":2000}`)}
	u := urn.MustParse("v2e::nvd::cve::CVE-2024-3094")
	if err := w.Add(stale, Checkpoint{URN: u, Success: true}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadProvider("cve")
	if err != nil || got.State != fsm.ProviderPaused || got.PermitsHeld != 0 || got.LastError != "user pause" || got.Type != "cve" ||
		got.ProcessedCount != 2000 || got.LastCheckpoint != u || string(got.Cursor) != `{"start_index":2000}` {
		t.Errorf("record %+v, %v", got, err)
	}
}
