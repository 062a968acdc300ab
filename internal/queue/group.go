package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Errors of Group.
var (
	// ErrUnknownDestination is wrapped by Group.Offer for a destination
	// without a queue; the text names it.
	ErrUnknownDestination = errors.New("queue: unknown destination")
	// ErrExists is wrapped by Group.Add for a destination that already has a queue.
	ErrExists = errors.New("queue: destination already has a queue")
)

// Group is the broker's message optimizer: one Queue per destination
// process, sharing Config and a budget of Workers deliveries in flight.
// Each destination keeps its own order and its own bound, so one slow
// consumer fills only its own queue; workers parallelise deliveries across
// destinations, never within one.
//
// Safe for concurrent use. Lock order: Group.mu, then Queue.mu (Close).
type Group struct {
	cfg     Config
	workers chan struct{}
	busy    atomic.Int64

	mu     sync.RWMutex
	queues map[string]*Queue
	closed bool
}

// NewGroup returns an empty group. Errors wrap ErrConfig.
func NewGroup(cfg Config) (*Group, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Group{cfg: cfg, workers: make(chan struct{}, cfg.Workers), queues: make(map[string]*Queue)}, nil
}

// Config returns the configuration in force, defaults filled in.
func (g *Group) Config() Config { return g.cfg }

// Add starts the queue for dest, delivering to sink. Errors: ErrExists,
// ErrClosed.
func (g *Group) Add(dest string, sink Sink) (*Queue, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	if _, ok := g.queues[dest]; ok {
		return nil, fmt.Errorf("%w: %q", ErrExists, dest)
	}
	q := start(dest, g.cfg, sink, g.workers, &g.busy)
	g.queues[dest] = q
	return q, nil
}

// Remove takes dest's queue out of the group, then closes it (delivering
// what it holds) and waits. Removing an unknown destination is a no-op.
func (g *Group) Remove(dest string) error {
	g.mu.Lock()
	q := g.queues[dest]
	delete(g.queues, dest)
	g.mu.Unlock()
	if q == nil {
		return nil
	}
	return q.Close()
}

// Queue returns dest's queue, or nil.
func (g *Group) Queue(dest string) *Queue {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.queues[dest]
}

// Offer queues msg for dest; see Queue.Offer. A destination without a queue
// gives an error wrapping ErrUnknownDestination.
func (g *Group) Offer(ctx context.Context, dest string, msg []byte) error {
	q := g.Queue(dest)
	if q == nil {
		return fmt.Errorf("%w: %q", ErrUnknownDestination, dest)
	}
	return q.Offer(ctx, msg)
}

// Saturation is the fullest queue's Len/Buffer, in [0, 1]: the
// buffer_saturation of RPCGetKernelMetrics.
func (g *Group) Saturation() float64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var s float64
	for _, q := range g.queues {
		s = max(s, q.Saturation())
	}
	return s
}

// Busy is the number of deliveries in flight (at most Workers): the
// active_workers of RPCGetKernelMetrics.
func (g *Group) Busy() int { return int(g.busy.Load()) }

// Stats returns each destination's counters.
func (g *Group) Stats() map[string]Stats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make(map[string]Stats, len(g.queues))
	for name, q := range g.queues {
		out[name] = q.Stats()
	}
	return out
}

// Close closes every queue (each delivers what it holds) and refuses new
// ones. Safe to call more than once.
func (g *Group) Close() error {
	g.mu.Lock()
	g.closed = true
	qs := make([]*Queue, 0, len(g.queues))
	for _, q := range g.queues {
		qs = append(qs, q)
	}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, q := range qs {
		wg.Go(func() { q.Close() })
	}
	wg.Wait()
	return nil
}
