package bolt

import (
	"errors"
	"fmt"
	"sync"
)

// ErrWriterClosed is returned by Add after the CheckpointWriter was closed.
var ErrWriterClosed = errors.New("bolt: checkpoint writer closed")

// CheckpointWriter commits checkpoints behind the ingest path: Add queues a
// checkpoint (and the provider record it advances) and returns at once; one
// goroutine commits everything queued so far in a single transaction, so
// the fsync cost is paid once per batch, not once per checkpoint, and never
// on the caller's goroutine. A checkpoint is committed (and survives kill -9
// or power loss, as the Store's sync mode allows) once Flush returns after
// it or OnCommit has seen it; until then a crash may lose it, and recovery
// resumes from the last committed one.
//
// The first commit error is sticky: Add, Flush and Close return it.
type CheckpointWriter struct {
	s        *Store
	max      int
	onCommit func([]Checkpoint)

	mu        sync.Mutex
	cond      *sync.Cond // signalled when the queue shrinks or a batch commits
	pending   []Checkpoint
	recs      map[string]*ProviderRecord
	queued    uint64 // checkpoints accepted by Add
	committed uint64 // checkpoints committed
	err       error
	closed    bool
	wake      chan struct{}
	done      chan struct{}
}

// WriterOptions tune a CheckpointWriter.
type WriterOptions struct {
	// MaxPending bounds the queue; Add blocks while it is full (default 4096).
	MaxPending int
	// OnCommit, when set, is called from the writer goroutine with each
	// committed batch, in order, before Flush returns for it. It must not
	// call Add or Flush.
	OnCommit func([]Checkpoint)
}

// NewCheckpointWriter starts a writer on s. Close it before closing s.
func (s *Store) NewCheckpointWriter(o WriterOptions) *CheckpointWriter {
	if o.MaxPending <= 0 {
		o.MaxPending = 4096
	}
	w := &CheckpointWriter{s: s, max: o.MaxPending, onCommit: o.OnCommit,
		recs: map[string]*ProviderRecord{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Add queues cp; when rec is not nil, its progress fields (counts, Cursor,
// and LastCheckpoint set to cp.URN) are stored in the same commit over the
// stored record, whose State, PermitsHeld, BackoffUntil and LastError are
// kept: those belong to state transitions. The latest rec per provider wins.
// It blocks only while MaxPending checkpoints are queued.
func (w *CheckpointWriter) Add(rec *ProviderRecord, cp Checkpoint) error {
	if cp.ProviderID == "" && rec != nil {
		cp.ProviderID = rec.ID
	}
	if err := checkProviderID(cp.ProviderID); err != nil {
		return err
	}
	if cp.URN.IsZero() || (rec != nil && rec.ID != cp.ProviderID) {
		return fmt.Errorf("%w: checkpoint of %q: zero URN or record of another provider", ErrInvalid, cp.ProviderID)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.pending) >= w.max && w.err == nil && !w.closed {
		w.cond.Wait()
	}
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrWriterClosed
	}
	if cp.ProcessedAt.IsZero() {
		cp.ProcessedAt = w.s.now()
	}
	w.pending = append(w.pending, cp)
	if rec != nil {
		r := *rec
		r.LastCheckpoint = cp.URN
		w.recs[r.ID] = &r
	}
	w.queued++
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Flush waits until every checkpoint queued before the call is committed,
// and returns the writer's error, if any.
func (w *CheckpointWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	target := w.queued
	for w.committed < target && w.err == nil {
		w.cond.Wait()
	}
	return w.err
}

// Close commits what is queued, stops the writer goroutine and returns the
// writer's error. It is safe to call twice.
func (w *CheckpointWriter) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.wake)
	}
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *CheckpointWriter) loop() {
	defer close(w.done)
	for range w.wake {
		if !w.commit() {
			return
		}
	}
	w.commit() // drain after Close
}

// commit writes the queued batch; it returns false after an error.
func (w *CheckpointWriter) commit() bool {
	w.mu.Lock()
	batch, recs := w.pending, w.recs
	w.pending, w.recs = nil, map[string]*ProviderRecord{}
	w.mu.Unlock()
	if len(batch) == 0 {
		return true
	}
	err := w.s.Update(func(tx *Tx) error {
		for i := range batch {
			c, err := tx.AddCheckpoint(batch[i])
			if err != nil {
				return err
			}
			batch[i] = c
		}
		for _, r := range recs {
			if err := tx.putProgress(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && w.onCommit != nil {
		w.onCommit(batch) // before Flush can return for this batch
	}
	w.mu.Lock()
	if err != nil {
		w.err = fmt.Errorf("bolt: commit %d checkpoints: %w", len(batch), err)
	} else {
		w.committed += uint64(len(batch))
	}
	w.cond.Broadcast()
	w.mu.Unlock()
	return err == nil
}

// putProgress stores the progress fields of r (counts, cursor, last
// checkpoint) over the stored record, keeping the fields a state transition
// owns (state, permits held, backoff deadline, last error), so a queued
// checkpoint never undoes a transition persisted meanwhile.
func (tx *Tx) putProgress(r *ProviderRecord) error {
	cur, err := tx.Provider(r.ID)
	switch {
	case err == nil:
		r.State, r.PermitsHeld, r.BackoffUntil, r.LastError = cur.State, cur.PermitsHeld, cur.BackoffUntil, cur.LastError
		if r.Type == "" {
			r.Type = cur.Type
		}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return tx.PutProvider(r)
}
