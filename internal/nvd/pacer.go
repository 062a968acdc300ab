package nvd

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Pacer keeps a process's requests within NVD's rolling window: at most
// Limit requests in any Window. It is proactive: a request waits for a
// free slot instead of being sent and throttled. One Pacer is shared by
// every caller of a Client (and may be shared between Clients that use the
// same key). Safe for concurrent use; it has one mutex.
//
// Each request holds a slot stamped with an upper bound of the moment NVD
// counts it: the send time plus Margin, lowered to the moment response
// headers arrived once they have (NVD counted the request before
// answering). A new request may start when the oldest of the last Limit
// stamps is at least Window old, so NVD, counting arrivals, never sees
// more than Limit in a window.
type Pacer struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	margin time.Duration
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	stamps []time.Time // the last limit slots
	gens   []uint64    // generation of each slot, to ignore late Seen calls
	gen    uint64
	hold   time.Time // no request before this (set after a throttle)
	waited time.Duration
	count  int
	trace  func(time.Time) // tests: called with each send time, under mu
}

// PacerConfig configures a Pacer. Zero fields take defaults.
type PacerConfig struct {
	Limit  int           // requests per window; 5 when zero
	Window time.Duration // 30s when zero
	// Margin bounds how long a request may take to reach NVD; Window/100
	// when zero, negative for none.
	Margin time.Duration
	Now    func() time.Time                           // time.Now when nil
	Sleep  func(context.Context, time.Duration) error // a timer when nil
}

// NewPacer returns a Pacer with no request in its window.
func NewPacer(cfg PacerConfig) *Pacer {
	p := &Pacer{limit: cfg.Limit, window: cfg.Window, margin: cfg.Margin, now: cfg.Now, sleep: cfg.Sleep}
	if p.limit <= 0 {
		p.limit = 5
	}
	if p.window <= 0 {
		p.window = 30 * time.Second
	}
	if p.margin == 0 {
		p.margin = p.window / 100
	}
	p.margin = max(p.margin, 0)
	if p.now == nil {
		p.now = time.Now
	}
	if p.sleep == nil {
		p.sleep = SleepContext
	}
	return p
}

// SleepContext sleeps for d or until ctx is done.
func SleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Slot is a request's place in the window.
type Slot struct {
	p   *Pacer
	idx int
	gen uint64
}

// Acquire waits until a request may be sent and reserves its slot.
func (p *Pacer) Acquire(ctx context.Context) (Slot, error) {
	for {
		p.mu.Lock()
		now := p.now()
		idx, at := p.nextFree()
		if !now.Before(at) {
			s := p.reserve(idx, now)
			p.mu.Unlock()
			return s, nil
		}
		p.waited += at.Sub(now)
		p.mu.Unlock()
		if err := p.sleep(ctx, at.Sub(now)); err != nil {
			return Slot{}, fmt.Errorf("nvd: waiting for a request slot: %w", err)
		}
	}
}

// nextFree returns the slot to reuse and when it frees. Caller holds mu.
func (p *Pacer) nextFree() (int, time.Time) {
	if len(p.stamps) < p.limit {
		return len(p.stamps), p.hold
	}
	oldest := 0
	for i, s := range p.stamps {
		if s.Before(p.stamps[oldest]) {
			oldest = i
		}
	}
	at := p.stamps[oldest].Add(p.window)
	if p.hold.After(at) {
		at = p.hold
	}
	return oldest, at
}

func (p *Pacer) reserve(idx int, now time.Time) Slot {
	p.gen++
	stamp := now.Add(p.margin)
	if idx == len(p.stamps) {
		p.stamps = append(p.stamps, stamp)
		p.gens = append(p.gens, p.gen)
	} else {
		p.stamps[idx], p.gens[idx] = stamp, p.gen
	}
	p.count++
	if p.trace != nil {
		p.trace(now)
	}
	return Slot{p: p, idx: idx, gen: p.gen}
}

// Seen records that the response to the slot's request began at t: NVD
// counted the request no later than that.
func (s Slot) Seen(t time.Time) {
	if s.p == nil {
		return
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.gens[s.idx] == s.gen && t.Before(s.p.stamps[s.idx]) {
		s.p.stamps[s.idx] = t
	}
}

// Hold keeps every caller from sending before until (after NVD throttled
// or asked to retry later).
func (p *Pacer) Hold(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.hold) {
		p.hold = until
	}
}

// PacerStats are counters since the Pacer was made.
type PacerStats struct {
	Requests int           // slots granted
	Waited   time.Duration // total time callers were told to wait
	Limit    int
	Window   time.Duration
}

// Stats returns the Pacer's counters.
func (p *Pacer) Stats() PacerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PacerStats{Requests: p.count, Waited: p.waited, Limit: p.limit, Window: p.window}
}
