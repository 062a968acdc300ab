package latency

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// ErrConfig is wrapped by New and NewWindow for an out-of-range Config.
var ErrConfig = errors.New("latency: invalid config")

// Bucket layout: values are microseconds. Values below subCount have a
// bucket each; above, every power of two [2^e, 2^(e+1)) is split into
// subCount equal buckets, so a bucket is at most 1/subCount = 6.25% wide
// relative to its lower edge and the midpoint reported by a quantile is
// within about 3.2% of any value in it. Values at or above 2^maxExp µs
// (about 19 hours) land in the last bucket.
const (
	subBits    = 4
	subCount   = 1 << subBits
	maxExp     = 36
	numBuckets = subCount + (maxExp-subBits)*subCount
)

// bucketOf maps a value in µs to its bucket index.
func bucketOf(us uint64) int {
	if us < subCount {
		return int(us)
	}
	e := bits.Len64(us) - 1
	if e >= maxExp {
		return numBuckets - 1
	}
	shift := e - subBits
	return subCount + shift*subCount + int(us>>shift) - subCount
}

// bucketBounds returns bucket i's range [lo, hi) in µs.
func bucketBounds(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i) + 1
	}
	shift := (i - subCount) / subCount
	m := uint64((i-subCount)%subCount + subCount)
	return m << shift, (m + 1) << shift
}

// bucketValue is the value a quantile in bucket i reports: its midpoint.
func bucketValue(i int) time.Duration {
	lo, hi := bucketBounds(i)
	return time.Duration(lo+(hi-lo)/2) * time.Microsecond
}

// Config sizes a rolling window. Zero fields take the defaults.
type Config struct {
	Slices int              // time slices in the ring (default 10)
	Slice  time.Duration    // length of one slice (default 1s); the window is Slices*Slice
	Now    func() time.Time // clock (default time.Now)
}

func (c Config) withDefaults() (Config, error) {
	if c.Slices == 0 {
		c.Slices = 10
	}
	if c.Slice == 0 {
		c.Slice = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Slices < 2 || c.Slice < time.Millisecond {
		return c, fmt.Errorf("%w: Slices %d (want >= 2), Slice %v (want >= 1ms)", ErrConfig, c.Slices, c.Slice)
	}
	return c, nil
}

// slice holds the counts of one time slice; epoch is the slice number
// (UnixNano / Slice) it currently holds.
type slice struct {
	epoch   atomic.Int64
	count   atomic.Uint64 // latency samples
	sum     atomic.Uint64 // of samples, µs
	max     atomic.Uint64 // of samples, µs
	msgs    atomic.Uint64
	errs    atomic.Uint64
	buckets [numBuckets]atomic.Uint64
}

// Window is a rolling histogram of latencies plus message and error counters
// over the last Slices*Slice of time. Record and Count are lock-free and do
// not allocate, except that the first write into a new slice takes a mutex
// to clear it. Reads scan the slices still inside the window.
//
// Counts are exact within a slice; at a slice boundary a writer that read
// the clock just before the turn may land in the newer slice.
type Window struct {
	slices []slice
	width  int64 // Slice in ns
	now    func() time.Time
	start  time.Time
	mu     sync.Mutex // clears a slice for a new epoch
}

// NewWindow returns an empty window. Errors wrap ErrConfig.
func NewWindow(cfg Config) (*Window, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Window{slices: make([]slice, cfg.Slices), width: int64(cfg.Slice), now: cfg.Now, start: cfg.Now()}, nil
}

// Span is the window's length.
func (w *Window) Span() time.Duration { return time.Duration(w.width * int64(len(w.slices))) }

// Record adds one latency sample, read against the window's clock.
func (w *Window) Record(d time.Duration) { w.recordAt(w.epoch(w.now()), d) }

// Count adds msgs messages and errs errors to the rate counters.
func (w *Window) Count(msgs, errs uint64) { w.countAt(w.epoch(w.now()), msgs, errs) }

func (w *Window) epoch(t time.Time) int64 { return t.UnixNano() / w.width }

func (w *Window) recordAt(e int64, d time.Duration) {
	s := w.slot(e)
	if s == nil {
		return
	}
	us := uint64(max(d, 0) / time.Microsecond)
	s.buckets[bucketOf(us)].Add(1)
	s.count.Add(1)
	s.sum.Add(us)
	for m := s.max.Load(); us > m && !s.max.CompareAndSwap(m, us); m = s.max.Load() {
	}
}

func (w *Window) countAt(e int64, msgs, errs uint64) {
	s := w.slot(e)
	if s == nil {
		return
	}
	if msgs > 0 {
		s.msgs.Add(msgs)
	}
	if errs > 0 {
		s.errs.Add(errs)
	}
}

// slot returns the slice for epoch e, clearing it first if it still holds
// an older epoch, or nil if it already holds a newer one (a stale clock read).
func (w *Window) slot(e int64) *slice {
	s := &w.slices[e%int64(len(w.slices))]
	if s.epoch.Load() == e {
		return s
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch cur := s.epoch.Load(); {
	case cur == e:
		return s
	case cur > e:
		return nil
	}
	for i := range s.buckets {
		s.buckets[i].Store(0)
	}
	s.count.Store(0)
	s.sum.Store(0)
	s.max.Store(0)
	s.msgs.Store(0)
	s.errs.Store(0)
	s.epoch.Store(e)
	return s
}

// Stats summarises the latency samples of a window.
type Stats struct {
	Count uint64        `json:"count"`
	P50   time.Duration `json:"p50"`
	P99   time.Duration `json:"p99"`
	Max   time.Duration `json:"max"`
	Mean  time.Duration `json:"mean"`
}

// P99Ms is P99 in milliseconds, as RPCGetKernelMetrics reports it.
func (s Stats) P99Ms() float64 { return float64(s.P99) / float64(time.Millisecond) }

// P50Ms is P50 in milliseconds.
func (s Stats) P50Ms() float64 { return float64(s.P50) / float64(time.Millisecond) }

// agg is the sum of the live slices of a window.
type agg struct {
	count, sum, max, msgs, errs uint64
	buckets                     [numBuckets]uint64
}

// collect sums the slices whose epoch is within the window ending at now.
func (w *Window) collect(now time.Time, a *agg) {
	e := w.epoch(now)
	oldest := e - int64(len(w.slices)) + 1
	for i := range w.slices {
		s := &w.slices[i]
		if ep := s.epoch.Load(); ep < oldest || ep > e {
			continue
		}
		a.count += s.count.Load()
		a.sum += s.sum.Load()
		a.max = max(a.max, s.max.Load())
		a.msgs += s.msgs.Load()
		a.errs += s.errs.Load()
		for j := range s.buckets {
			a.buckets[j] += s.buckets[j].Load()
		}
	}
}

// quantile returns the value below which a fraction q of the samples lie.
func (a *agg) quantile(q float64) time.Duration {
	if a.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(a.count))) // nearest rank, 1-based
	rank = min(max(rank, 1), a.count)
	var seen uint64
	for i, n := range a.buckets {
		if seen += n; seen >= rank {
			return min(bucketValue(i), time.Duration(a.max)*time.Microsecond)
		}
	}
	return time.Duration(a.max) * time.Microsecond
}

func (a *agg) stats() Stats {
	if a.count == 0 {
		return Stats{}
	}
	return Stats{Count: a.count, P50: a.quantile(0.50), P99: a.quantile(0.99),
		Max: time.Duration(a.max) * time.Microsecond, Mean: time.Duration(a.sum/a.count) * time.Microsecond}
}

// covered is how much time the window's counts span at now: the window,
// less the unfinished part of the current slice, and no more than the
// window has existed. Never below one millisecond.
func (w *Window) covered(now time.Time) time.Duration {
	n := now.UnixNano()
	full := time.Duration(int64(len(w.slices)-1)*w.width + n%w.width)
	return max(min(full, now.Sub(w.start)), time.Millisecond)
}

// Stats returns the latency summary over the window.
func (w *Window) Stats() Stats {
	var a agg
	w.collect(w.now(), &a)
	return a.stats()
}

// Quantile returns the q-quantile (0 < q <= 1) of the latencies in the window.
func (w *Window) Quantile(q float64) time.Duration {
	var a agg
	w.collect(w.now(), &a)
	return a.quantile(q)
}
