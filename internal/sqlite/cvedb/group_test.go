package cvedb

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/cve"
)

type saveReply struct {
	res cve.SaveResult
	err error
}

func saveAsync(ctx context.Context, s *Store, recs []json.RawMessage) <-chan saveReply {
	out := make(chan saveReply, 1)
	go func() {
		res, err := s.Save(ctx, recs)
		out <- saveReply{res, err}
	}()
	return out
}

// holdLeader makes the next leader stop after its own batch until release
// is closed; entered is closed when it stops. Later leaders pass. If
// onRelease is set it runs in the leader once released.
func holdLeader(t *testing.T, onRelease func()) (entered, release chan struct{}) {
	entered, release = make(chan struct{}), make(chan struct{})
	first := true
	testHookAfterOwn = func() {
		if !first {
			return
		}
		first = false
		close(entered)
		<-release
		if onRelease != nil {
			onRelease()
		}
	}
	t.Cleanup(func() { testHookAfterOwn = nil })
	return entered, release
}

// heldLeader opens a store and saves recs[:500] in it under ctx as a
// leader held after its own batch (holdLeader); a answers that save.
func heldLeader(t *testing.T, ctx context.Context, onRelease func()) (s *Store, recs []json.RawMessage, a <-chan saveReply, release chan struct{}) {
	s = openStore(t)
	recs = realRecords(t)
	entered, release := holdLeader(t, onRelease)
	a = saveAsync(ctx, s, recs[:500])
	<-entered
	return s, recs, a, release
}

// waitQueued waits until n batches wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if w, _ := s.group.stats(); w == n {
			return
		}
		if time.Now().After(deadline) {
			w, _ := s.group.stats()
			t.Fatalf("%d batches wait, want %d", w, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGroupCommitWritesQueuedBatchesWithTheLeader(t *testing.T) {
	ctx := context.Background()
	s, recs, a, release := heldLeader(t, ctx, nil)
	b := saveAsync(ctx, s, recs[500:1000])
	waitQueued(t, s, 1)
	c := saveAsync(ctx, s, recs[900:1200]) // 100 records of b again
	waitQueued(t, s, 2)
	close(release)
	for _, x := range []struct {
		name string
		ch   <-chan saveReply
		want cve.SaveResult
	}{
		{"a", a, cve.SaveResult{Saved: 500}},
		{"b", b, cve.SaveResult{Saved: 500}},
		{"c", c, cve.SaveResult{Saved: 200, Unchanged: 100}},
	} {
		if r := <-x.ch; r.err != nil || r.res != x.want {
			t.Fatalf("%s: %+v, %v; want %+v", x.name, r.res, r.err, x.want)
		}
	}
	if _, joined := s.group.stats(); joined != 2 {
		t.Fatalf("%d batches written in the leader's transaction, want 2", joined)
	}
	if n, err := s.Count(ctx); err != nil || n != 1200 {
		t.Fatalf("count: %d, %v", n, err)
	}
	for _, raw := range [][]byte{recs[0], recs[999], recs[1199]} {
		r, _ := cve.Extract(raw)
		if _, err := s.Get(ctx, r.ID); err != nil {
			t.Fatalf("get %s: %v", r.ID, err)
		}
	}
	checkIntegrity(t, s)
}

func TestGroupLeaderFailureLeavesQueuedBatchesToSaveAlone(t *testing.T) {
	ctx := context.Background()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, recs, a, release := heldLeader(t, lctx, cancel)
	b := saveAsync(ctx, s, recs[500:1000])
	waitQueued(t, s, 1)
	close(release)
	if r := <-a; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("leader whose context ended: %+v, %v", r.res, r.err)
	}
	if r := <-b; r.err != nil || r.res != (cve.SaveResult{Saved: 500}) {
		t.Fatalf("batch queued behind the failed leader: %+v, %v", r.res, r.err)
	}
	if _, joined := s.group.stats(); joined != 0 {
		t.Fatalf("%d batches counted as written by the failed leader", joined)
	}
	if n, err := s.Count(ctx); err != nil || n != 500 {
		t.Fatalf("count: %d, %v (want the queued batch only)", n, err)
	}
	r, _ := cve.Extract(recs[0])
	if _, err := s.Get(ctx, r.ID); !errors.Is(err, cve.ErrNotFound) {
		t.Fatalf("a record of the failed leader: %v", err)
	}
	checkIntegrity(t, s)
}

func TestGroupQueuedBatchLeavesWhenItsContextEnds(t *testing.T) {
	ctx := context.Background()
	s, recs, a, release := heldLeader(t, ctx, nil)
	bctx, cancel := context.WithCancel(ctx)
	b := saveAsync(bctx, s, recs[500:1000])
	waitQueued(t, s, 1)
	cancel()
	if r := <-b; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("queued batch whose context ended: %+v, %v", r.res, r.err)
	}
	waitQueued(t, s, 0)
	close(release)
	if r := <-a; r.err != nil || r.res != (cve.SaveResult{Saved: 500}) {
		t.Fatalf("leader: %+v, %v", r.res, r.err)
	}
	if n, err := s.Count(ctx); err != nil || n != 500 {
		t.Fatalf("count: %d, %v", n, err)
	}
}
