package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of Offer and of construction. Offer returns ErrFull, ErrDropped and
// ErrClosed unwrapped: they come back on the overload path, where building a
// message per refusal would add garbage exactly when the broker is busiest;
// the caller knows the destination it offered to.
var (
	// ErrFull: the queue is full and its policy is Reject; the message was not queued.
	ErrFull = errors.New("queue: full")
	// ErrDropped: the queue is full and its policy is Drop; the message was discarded.
	ErrDropped = errors.New("queue: full, message dropped")
	// ErrClosed: the queue is closed (or closing); the message was not queued.
	ErrClosed = errors.New("queue: closed")
	// ErrConfig is wrapped by New, NewGroup and ParsePolicy; the text names the field.
	ErrConfig = errors.New("queue: invalid config")
)

// Policy is what Offer does when the queue is full.
type Policy int

// Policies (broker.optimizer.policy).
const (
	Wait   Policy = iota // block until there is room, the context ends or the queue closes
	Drop                 // discard the new message, count it, return ErrDropped
	Reject               // refuse the new message, count it, return ErrFull
)

func (p Policy) String() string {
	switch p {
	case Wait:
		return "wait"
	case Drop:
		return "drop"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy reads "wait", "drop" or "reject"; "" means Wait.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "", "wait":
		return Wait, nil
	case "drop":
		return Drop, nil
	case "reject":
		return Reject, nil
	}
	return Wait, fmt.Errorf("%w: policy %q (want wait, drop or reject)", ErrConfig, s)
}

// Config is broker.optimizer. Zero fields take the defaults listed.
type Config struct {
	Buffer  int // messages a queue holds (default 1000)
	Workers int // deliveries in flight at once across a Group (default 4)
	Batch   int // most messages per sink call (default 1)
	// Flush is the longest a partial batch waits for more messages
	// (broker.optimizer.flush_ms). Zero is taken literally: a batch goes out
	// with whatever is queued at once, never waiting. Unused when Batch is 1.
	Flush  time.Duration
	Policy Policy // when full (default Wait)
	// NoCopy makes Offer keep the caller's slice instead of copying it into a
	// pooled buffer: use it when every message is a fresh allocation that
	// the caller never touches again.
	NoCopy bool
	// OnWait, when set, is told how long each message waited between a
	// successful Offer and the start of its sink call: the broker's own
	// routing latency, free of the time services take to answer. It runs on
	// the delivery goroutine and must be quick (latency.Tracker.Observe is).
	OnWait func(dest string, wait time.Duration)
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Buffer, 1000)
	def(&c.Workers, 4)
	def(&c.Batch, 1)
	switch {
	case c.Buffer < 1:
		return c, fmt.Errorf("%w: buffer %d must be at least 1", ErrConfig, c.Buffer)
	case c.Workers < 1:
		return c, fmt.Errorf("%w: workers %d must be at least 1", ErrConfig, c.Workers)
	case c.Batch < 1:
		return c, fmt.Errorf("%w: batch %d must be at least 1", ErrConfig, c.Batch)
	case c.Flush < 0:
		return c, fmt.Errorf("%w: flush %v must not be negative", ErrConfig, c.Flush)
	case c.Policy < Wait || c.Policy > Reject:
		return c, fmt.Errorf("%w: policy %v", ErrConfig, c.Policy)
	}
	return c, nil
}

// Sink delivers one batch, in order. It must not keep the batch or its
// slices after it returns: their buffers are reused. An error is counted
// (SinkErrors, Failed) and the batch is not retried. A sink that blocks
// holds one of the Group's workers: give it a write deadline. A sink must
// not call Close or Group.Remove on its own queue: Close waits for the sink.
type Sink func(batch [][]byte) error

// Stats are a queue's counters since New. Every offered message ends in
// exactly one of Enqueued, Dropped, Rejected, Canceled, Refused; every
// enqueued one in Delivered or Failed, or is still held (Len plus the batch
// being delivered).
type Stats struct {
	Offered    uint64 `json:"offered"`
	Enqueued   uint64 `json:"enqueued"`
	Dropped    uint64 `json:"dropped"`     // policy drop, queue full
	Rejected   uint64 `json:"rejected"`    // policy reject, queue full
	Canceled   uint64 `json:"canceled"`    // policy wait, context ended first
	Refused    uint64 `json:"refused"`     // queue closed
	Delivered  uint64 `json:"delivered"`   // in batches the sink accepted
	Failed     uint64 `json:"failed"`      // in batches the sink returned an error for
	Batches    uint64 `json:"batches"`     // sink calls
	SinkErrors uint64 `json:"sink_errors"` // sink calls that returned an error
	Len        int    `json:"len"`
	Cap        int    `json:"cap"`
}

// elem is one queued message; p is its pool buffer, nil if not pooled; at is
// when it was offered, in ns since the queue's base (set only with OnWait).
type elem struct {
	b  []byte
	p  *[]byte
	at int64
}

// Queue is a bounded FIFO of messages for one destination, delivered to its
// sink by one goroutine, so the sink sees messages in the order their
// Offers returned nil and never runs twice at once. Offer is safe for
// concurrent use. Memory is bounded: at most Buffer queued plus Batch being
// delivered.
type Queue struct {
	name    string
	cfg     Config
	sink    Sink
	workers chan struct{} // shared with the Group; a token per delivery in flight
	busy    *atomic.Int64 // shared with the Group

	base    time.Time // monotonic origin of elem.at
	ch      chan elem
	mu      sync.RWMutex // read-held by Offer; write-held once by Close
	closed  bool
	closing chan struct{} // closed first by Close: wakes waiting Offers
	stop    chan struct{} // closed after no Offer can enqueue: run drains and exits
	done    chan struct{} // closed when run has exited
	once    sync.Once

	offered, enqueued, dropped, rejected, canceled, refused atomic.Uint64
	delivered, failed, batches, sinkErrors                  atomic.Uint64
}

// New starts a standalone queue named name (for errors and logs) that
// delivers to sink. Close it to stop its goroutine. Errors wrap ErrConfig.
func New(name string, cfg Config, sink Sink) (*Queue, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return start(name, cfg, sink, make(chan struct{}, 1), new(atomic.Int64)), nil
}

func start(name string, cfg Config, sink Sink, workers chan struct{}, busy *atomic.Int64) *Queue {
	q := &Queue{name: name, cfg: cfg, sink: sink, workers: workers, busy: busy, base: time.Now(),
		ch: make(chan elem, cfg.Buffer), closing: make(chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	return q
}

// Name is the destination the queue was created for.
func (q *Queue) Name() string { return q.name }

// Offer queues msg for delivery. Unless Config.NoCopy is set it copies msg,
// so the caller may reuse its buffer at once. When the queue is full it
// follows the policy: Wait blocks until there is room (returning ctx.Err()
// if ctx ends first, ErrClosed if the queue closes first); Drop returns
// ErrDropped; Reject returns ErrFull. A message for which Offer returned nil
// is delivered (or counted Failed) before Close returns.
func (q *Queue) Offer(ctx context.Context, msg []byte) error {
	q.offered.Add(1)
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		q.refused.Add(1)
		return ErrClosed
	}
	if q.cfg.Policy != Wait && len(q.ch) == cap(q.ch) {
		return q.refuse() // full: don't copy a message that cannot go in
	}
	e := q.wrap(msg)
	select {
	case q.ch <- e:
		q.enqueued.Add(1)
		return nil
	default:
	}
	if q.cfg.Policy != Wait {
		putBuf(e.p)
		return q.refuse()
	}
	select {
	case q.ch <- e:
		q.enqueued.Add(1)
		return nil
	case <-ctx.Done():
		q.canceled.Add(1)
		putBuf(e.p)
		return ctx.Err()
	case <-q.closing:
		q.refused.Add(1)
		putBuf(e.p)
		return ErrClosed
	}
}

// refuse counts and reports a full queue under Drop or Reject.
func (q *Queue) refuse() error {
	if q.cfg.Policy == Drop {
		q.dropped.Add(1)
		return ErrDropped
	}
	q.rejected.Add(1)
	return ErrFull
}

func (q *Queue) wrap(msg []byte) elem {
	var e elem
	if q.cfg.OnWait != nil {
		e.at = int64(time.Since(q.base))
	}
	if q.cfg.NoCopy {
		e.b = msg
		return e
	}
	if p := getBuf(len(msg)); p != nil {
		*p = append((*p)[:0], msg...)
		e.b, e.p = *p, p
	} else {
		e.b = append([]byte(nil), msg...)
	}
	return e
}

// Len is the number of messages waiting (not counting a batch being delivered).
func (q *Queue) Len() int { return len(q.ch) }

// Saturation is Len/Buffer, in [0, 1].
func (q *Queue) Saturation() float64 { return float64(len(q.ch)) / float64(cap(q.ch)) }

// Stats returns the counters. They are read one by one, so a snapshot taken
// while messages move may be off by the messages in flight.
func (q *Queue) Stats() Stats {
	return Stats{
		Offered: q.offered.Load(), Enqueued: q.enqueued.Load(), Dropped: q.dropped.Load(),
		Rejected: q.rejected.Load(), Canceled: q.canceled.Load(), Refused: q.refused.Load(),
		Delivered: q.delivered.Load(), Failed: q.failed.Load(), Batches: q.batches.Load(),
		SinkErrors: q.sinkErrors.Load(), Len: len(q.ch), Cap: cap(q.ch),
	}
}

// Close stops taking messages (waiting Offers return ErrClosed), delivers
// every message already queued, and waits for the delivery goroutine. It is
// safe to call more than once and from several goroutines.
func (q *Queue) Close() error {
	q.once.Do(func() {
		close(q.closing)
		q.mu.Lock() // waits for Offers in progress to finish
		q.closed = true
		q.mu.Unlock()
		close(q.stop)
	})
	<-q.done
	return nil
}

// run is the queue's only delivery goroutine.
func (q *Queue) run() {
	defer close(q.done)
	batch := make([]elem, 0, q.cfg.Batch)
	msgs := make([][]byte, 0, q.cfg.Batch)
	timer := time.NewTimer(q.cfg.Flush)
	timer.Stop()
	for {
		select {
		case e := <-q.ch:
			batch = append(batch[:0], e)
		case <-q.stop:
			q.drain(batch, msgs)
			return
		}
		batch = q.fill(batch, timer)
		msgs = q.deliver(batch, msgs)
	}
}

// fill adds queued messages to batch until it is full, the flush interval
// passes, or the queue is stopping.
func (q *Queue) fill(batch []elem, timer *time.Timer) []elem {
	batch = q.takeReady(batch)
	if len(batch) == q.cfg.Batch || q.cfg.Flush == 0 {
		return batch
	}
	timer.Reset(q.cfg.Flush)
	defer timer.Stop()
	for len(batch) < q.cfg.Batch {
		select {
		case e := <-q.ch:
			batch = append(batch, e)
		case <-timer.C:
			return batch
		case <-q.stop:
			return batch
		}
	}
	return batch
}

// takeReady adds messages already queued to batch, without waiting.
func (q *Queue) takeReady(batch []elem) []elem {
	for len(batch) < q.cfg.Batch {
		select {
		case e := <-q.ch:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// drain delivers what is left after stop; no Offer can add more by then.
func (q *Queue) drain(batch []elem, msgs [][]byte) {
	for {
		batch = q.takeReady(batch[:0])
		if len(batch) == 0 {
			return
		}
		msgs = q.deliver(batch, msgs)
	}
}

// deliver hands batch to the sink under a worker token, counts the outcome
// and recycles the buffers. It returns msgs for reuse.
func (q *Queue) deliver(batch []elem, msgs [][]byte) [][]byte {
	msgs = msgs[:0]
	for _, e := range batch {
		msgs = append(msgs, e.b)
	}
	if q.cfg.OnWait != nil {
		now := int64(time.Since(q.base))
		for _, e := range batch {
			q.cfg.OnWait(q.name, time.Duration(now-e.at))
		}
	}
	q.workers <- struct{}{}
	q.busy.Add(1)
	err := q.sink(msgs)
	q.busy.Add(-1)
	<-q.workers
	q.batches.Add(1)
	if err != nil {
		q.sinkErrors.Add(1)
		q.failed.Add(uint64(len(batch)))
	} else {
		q.delivered.Add(uint64(len(batch)))
	}
	for i, e := range batch {
		putBuf(e.p)
		batch[i] = elem{}
	}
	clear(msgs)
	return msgs
}
