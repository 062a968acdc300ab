package cvedb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"github.com/v2e/v2e/internal/cve"
)

// Group commit. A Save that finds the writer busy decodes its whole batch
// meanwhile and queues it; the Save holding the writer applies the queued
// batches after its own, in the same transaction, before it commits. An
// NVD sync keeps several pages under way (meta's SavesInFlight), so while
// one page is written the next is decoded and waits: written together,
// the two pages' rows share the leaves of cve's indexes and the commit
// writes each touched leaf once instead of once per page.
//
// Only whole, valid batches are queued (decoding rejects bad ones before),
// so a batch never fails because of another's records. If the shared
// transaction fails anyway (the leader's context ends, the disk fills),
// each queued batch it had taken is saved again in a transaction of its
// own, so that only the leader's own call reports the leader's failure.
type saveGroup struct {
	mu     sync.Mutex
	busy   bool      // a Save holds the writer, or is about to
	queue  []*queued // decoded batches waiting, oldest first
	joined int       // batches written in another Save's transaction so far
}

// testHookAfterOwn, when set, runs in a leader's transaction after its own
// batch is applied and before it takes queued ones.
var testHookAfterOwn func()

// maxGroupRecords bounds the records one transaction takes from the queue.
const maxGroupRecords = 3 * cve.MaxBatch

// queued is one decoded batch waiting for the writer.
type queued struct {
	ps    []prepared
	bytes int
	wake  chan struct{} // closed when written (or failed), or when it is to lead
	taken bool          // a leader has taken it into its transaction
	lead  bool          // it holds the writer now and writes itself
	// Set before wake is closed when taken:
	outcomes []cve.Outcome
	failed   bool // the shared transaction failed: save it alone
}

// tryLead takes the writer if nobody holds it.
func (g *saveGroup) tryLead() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy {
		return false
	}
	g.busy = true
	return true
}

// wait queues q, or makes it lead when the writer is free, and returns
// when q has been written by a leader, has failed with the leader's
// transaction, or is to lead; or ctx's error if ctx ends before a leader
// has taken it.
func (g *saveGroup) wait(ctx context.Context, q *queued) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		q.lead = true
		g.mu.Unlock()
		return nil
	}
	g.queue = append(g.queue, q)
	g.mu.Unlock()
	select {
	case <-q.wake:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	if !q.taken && !q.lead {
		g.queue = slices.DeleteFunc(g.queue, func(o *queued) bool { return o == q })
		g.mu.Unlock()
		return ctx.Err()
	}
	g.mu.Unlock()
	<-q.wake // taken: its transaction is under way; or it is to lead
	return nil
}

// stats returns how many batches wait and how many have been written in
// another Save's transaction so far.
func (g *saveGroup) stats() (waiting, joined int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue), g.joined
}

// take removes from the queue the oldest batches that fit in room records
// (at least one, if any waits).
func (g *saveGroup) take(room int) []*queued {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for n < len(g.queue) && (n == 0 || len(g.queue[n].ps) <= room) {
		room -= len(g.queue[n].ps)
		g.queue[n].taken = true
		n++
	}
	out := slices.Clone(g.queue[:n])
	g.queue = slices.Delete(g.queue, 0, n)
	return out
}

// finish wakes the batches a leader took and hands the writer to the
// oldest waiting batch, or frees it.
func (g *saveGroup) finish(taken []*queued) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, q := range taken {
		if !q.failed {
			g.joined++
		}
		close(q.wake)
	}
	if len(g.queue) == 0 {
		g.busy = false
		return
	}
	next := g.queue[0]
	g.queue = g.queue[1:]
	next.lead = true
	close(next.wake)
}

// lead writes one transaction while holding the writer: own (the leader's
// batch), then queued batches up to maxGroupRecords, then the full-text
// rows; it commits, reports to the batches it took, and passes the writer
// on. ownRecords and ownBytes size the leader's batch.
func (s *Store) lead(ctx context.Context, ownRecords, ownBytes int, own func(w *writer) (cve.SaveResult, error)) (cve.SaveResult, error) {
	var res cve.SaveResult
	var taken []*queued
	bytes := ownBytes
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		w := newWriter(ctx, tx)
		defer w.close()
		var err error
		if res, err = own(w); err != nil {
			return err
		}
		if testHookAfterOwn != nil {
			testHookAfterOwn()
		}
		for room := maxGroupRecords - ownRecords; room > 0; {
			batch := s.group.take(room)
			if len(batch) == 0 {
				break
			}
			for _, q := range batch {
				taken = append(taken, q)
				room -= len(q.ps)
				bytes += q.bytes
				if q.outcomes, err = w.apply(q.ps); err != nil {
					return fmt.Errorf("cvedb: save: %w", err)
				}
			}
		}
		if err := w.flushFTS(); err != nil {
			return fmt.Errorf("cvedb: save: full-text index: %w", err)
		}
		return nil
	})
	for _, q := range taken {
		q.failed = err != nil
	}
	s.group.finish(taken)
	if err != nil {
		return cve.SaveResult{}, err
	}
	s.ckpt.committed(bytes)
	return res, nil
}

// join saves a decoded batch through the group: it waits to be taken into
// a leader's transaction, or leads one itself.
func (s *Store) join(ctx context.Context, ps []prepared, bytes int) (cve.SaveResult, error) {
	for {
		q := &queued{ps: ps, bytes: bytes, wake: make(chan struct{})}
		if err := s.group.wait(ctx, q); err != nil {
			return cve.SaveResult{}, err
		}
		if q.lead {
			return s.lead(ctx, len(ps), bytes, func(w *writer) (cve.SaveResult, error) {
				outcomes, err := w.apply(ps)
				if err != nil {
					return cve.SaveResult{}, fmt.Errorf("cvedb: save: %w", err)
				}
				return sum(outcomes), nil
			})
		}
		if !q.failed {
			return sum(q.outcomes), nil
		}
		// The leader's transaction failed: save it again, alone or in
		// another group.
		if err := ctx.Err(); err != nil {
			return cve.SaveResult{}, err
		}
	}
}

func sum(outcomes []cve.Outcome) cve.SaveResult {
	var res cve.SaveResult
	for _, o := range outcomes {
		res.Add(o)
	}
	return res
}
