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
// Each of the last Limit requests holds a slot. While a request is in
// flight its slot cannot be reused, because NVD may not have counted it
// yet; when the response headers arrive (or the request fails) the slot is
// stamped with that moment, an upper bound of when NVD counted the
// request. A new request may start once the oldest stamp is a Window old,
// so NVD, counting arrivals, never sees more than Limit in a window
// however late the network or the server delivered earlier requests.
type Pacer struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	stamps  []time.Time   // the last limit slots
	pending []bool        // slot's request still in flight
	gens    []uint64      // generation of each slot, to ignore stale Done calls
	gen     uint64        // last generation handed out
	wake    chan struct{} // closed and replaced when a slot is stamped
	hold    time.Time     // no request before this (set after a throttle)
	waited  time.Duration
	count   int
	trace   func(time.Time) // tests: called with each send time, under mu
}

// PacerConfig configures a Pacer. Zero fields take defaults.
type PacerConfig struct {
	Limit  int                                        // requests per window; 5 when zero
	Window time.Duration                              // 30s when zero
	Now    func() time.Time                           // time.Now when nil
	Sleep  func(context.Context, time.Duration) error // SleepContext when nil
}

// NewPacer returns a Pacer with no request in its window.
func NewPacer(cfg PacerConfig) *Pacer {
	p := &Pacer{limit: cfg.Limit, window: cfg.Window, now: cfg.Now, sleep: cfg.Sleep, wake: make(chan struct{})}
	if p.limit <= 0 {
		p.limit = 5
	}
	if p.window <= 0 {
		p.window = 30 * time.Second
	}
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

// Slot is a request's place in the window. Call Done exactly once.
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
		idx, at, ok := p.nextFree()
		if ok && !now.Before(at) {
			s := p.reserve(idx, now)
			p.mu.Unlock()
			return s, nil
		}
		wake := p.wake
		p.mu.Unlock()
		if err := p.wait(ctx, ok, at.Sub(now), wake); err != nil {
			return Slot{}, fmt.Errorf("nvd: waiting for a request slot: %w", err)
		}
	}
}

// wait sleeps until a slot frees at a known time, or, when every slot is
// in flight, until one is stamped.
func (p *Pacer) wait(ctx context.Context, known bool, d time.Duration, wake chan struct{}) error {
	if known {
		p.mu.Lock()
		p.waited += d
		p.mu.Unlock()
		return p.sleep(ctx, d)
	}
	select {
	case <-wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// nextFree returns the slot to reuse and when it frees; ok is false when
// every slot is in flight. Caller holds mu.
func (p *Pacer) nextFree() (idx int, at time.Time, ok bool) {
	if len(p.stamps) < p.limit {
		return len(p.stamps), p.hold, true
	}
	idx = -1
	for i, s := range p.stamps {
		if !p.pending[i] && (idx < 0 || s.Before(p.stamps[idx])) {
			idx = i
		}
	}
	if idx < 0 {
		return 0, time.Time{}, false
	}
	at = p.stamps[idx].Add(p.window)
	if p.hold.After(at) {
		at = p.hold
	}
	return idx, at, true
}

func (p *Pacer) reserve(idx int, now time.Time) Slot {
	p.gen++
	if idx == len(p.stamps) {
		p.stamps = append(p.stamps, now)
		p.pending = append(p.pending, true)
		p.gens = append(p.gens, p.gen)
	} else {
		p.stamps[idx], p.pending[idx], p.gens[idx] = now, true, p.gen
	}
	p.count++
	if p.trace != nil {
		p.trace(now)
	}
	return Slot{p: p, idx: idx, gen: p.gen}
}

// Done stamps the slot with t, the moment the response headers arrived or
// the request failed: NVD counted the request, if at all, no later.
func (s Slot) Done(t time.Time) {
	if s.p == nil {
		return
	}
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gens[s.idx] != s.gen || !p.pending[s.idx] {
		return
	}
	p.stamps[s.idx], p.pending[s.idx] = t, false
	close(p.wake)
	p.wake = make(chan struct{})
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
	Waited   time.Duration // total time callers slept for a known free time
	Limit    int
	Window   time.Duration
}

// Stats returns the Pacer's counters.
func (p *Pacer) Stats() PacerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PacerStats{Requests: p.count, Waited: p.waited, Limit: p.limit, Window: p.window}
}
