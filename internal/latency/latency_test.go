package latency

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a manual clock, safe for concurrent reads.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestBucketsCoverValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []uint64{0, 1, 15, 16, 17, 31, 32, 33, 1000, 30000, 1 << 35, 1<<36 - 1}
	for range 10000 {
		vals = append(vals, r.Uint64N(1<<36))
	}
	for _, v := range vals {
		i := bucketOf(v)
		lo, hi := bucketBounds(i)
		if v < lo || v >= hi {
			t.Fatalf("value %d in bucket %d = [%d, %d)", v, i, lo, hi)
		}
		if w := float64(hi - lo); lo >= subCount && w/float64(lo) > 1.0/subCount+1e-12 {
			t.Fatalf("bucket %d [%d, %d) wider than 1/%d", i, lo, hi, subCount)
		}
	}
	if got := bucketOf(math.MaxUint64); got != numBuckets-1 {
		t.Fatalf("bucketOf(max) = %d", got)
	}
	for i := 1; i < numBuckets; i++ { // contiguous
		_, hi := bucketBounds(i - 1)
		if lo, _ := bucketBounds(i); lo != hi {
			t.Fatalf("gap between bucket %d and %d", i-1, i)
		}
	}
}

func TestQuantileAccuracy(t *testing.T) {
	c := newClock()
	w, err := NewWindow(Config{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var xs []time.Duration
	for range 20000 { // log-normal around 2ms, long tail
		d := time.Duration(math.Exp(r.NormFloat64()*0.8+math.Log(2000))) * time.Microsecond
		xs = append(xs, d)
		w.Record(d)
	}
	slices.Sort(xs)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := xs[int(math.Ceil(q*float64(len(xs))))-1]
		got := w.Quantile(q)
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.033 {
			t.Errorf("q%.3f = %v, exact %v (%.1f%% off)", q, got, exact, rel*100)
		}
	}
	st := w.Stats()
	if st.Count != uint64(len(xs)) || st.Max != xs[len(xs)-1].Truncate(time.Microsecond) {
		t.Errorf("stats %+v, want count %d max %v", st, len(xs), xs[len(xs)-1])
	}
}

func TestSmallSamples(t *testing.T) {
	tests := []struct {
		name     string
		samples  []time.Duration
		p50, p99 time.Duration
	}{
		{"empty", nil, 0, 0},
		{"one", []time.Duration{7 * time.Microsecond}, 7 * time.Microsecond, 7 * time.Microsecond},
		{"negative clamps to zero", []time.Duration{-time.Second}, 0, 0},
		{"p99 of 100 is the 99th", append(repeat(98, 1*time.Microsecond), 5*time.Microsecond, 9*time.Microsecond),
			1 * time.Microsecond, 5 * time.Microsecond},
		{"capped at max", []time.Duration{39 * time.Millisecond}, 39 * time.Millisecond, 39 * time.Millisecond}, // bucket midpoint 39.936ms
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := NewWindow(Config{Now: newClock().now})
			for _, d := range tt.samples {
				w.Record(d)
			}
			if st := w.Stats(); st.P50 != tt.p50 || st.P99 != tt.p99 {
				t.Fatalf("p50 %v p99 %v, want %v %v", st.P50, st.P99, tt.p50, tt.p99)
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestWindowRolls(t *testing.T) {
	c := newClock()
	w, _ := NewWindow(Config{Slices: 10, Slice: time.Second, Now: c.now})
	for range 100 {
		w.Record(50 * time.Millisecond) // a slow burst
	}
	c.advance(5 * time.Second)
	for range 100 {
		w.Record(2 * time.Millisecond)
	}
	if p99 := w.Stats().P99Ms(); p99 < 45 {
		t.Fatalf("p99 %.1fms while the slow burst is in the window", p99)
	}
	c.advance(5 * time.Second) // burst slice is now 10 slices old: out
	st := w.Stats()
	if st.Count != 100 || st.P99Ms() > 2.1 {
		t.Fatalf("after burst left the window: %+v", st)
	}
	c.advance(20 * time.Second)
	if st := w.Stats(); st.Count != 0 {
		t.Fatalf("after the whole window passed: %+v", st)
	}
	w.Record(time.Millisecond) // reuses a slot holding an old epoch
	if st := w.Stats(); st.Count != 1 {
		t.Fatalf("after reuse: %+v", st)
	}
}

func TestStaleWriterIgnored(t *testing.T) {
	c := newClock()
	w, _ := NewWindow(Config{Slices: 2, Slice: time.Second, Now: c.now})
	old := w.epoch(c.now())
	c.advance(2 * time.Second) // same slot, newer epoch
	w.Record(time.Millisecond)
	w.recordAt(old, time.Hour) // a writer that read the clock long ago
	if st := w.Stats(); st.Count != 1 || st.Max != time.Millisecond {
		t.Fatalf("stale write counted: %+v", st)
	}
}

func TestRates(t *testing.T) {
	c := newClock()
	tr, err := New(Config{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute) // tracker old enough that the whole window counts
	for range 30 {         // 10 messages, 1 error per second for 3 s
		for range 10 {
			tr.Message()
		}
		c.advance(100 * time.Millisecond)
		if c.ns.Load()%int64(time.Second) == 0 {
			tr.Error()
		}
	}
	s := tr.Snapshot()
	if s.Messages != 300 || s.Errors != 3 {
		t.Fatalf("counted %d messages %d errors", s.Messages, s.Errors)
	}
	// covered: 9 full slices + 0 of the current = 9s
	if math.Abs(s.MessageRate-300.0/9) > 1e-9 || math.Abs(s.ErrorRate-3.0/9) > 1e-9 || s.ErrorRatio != 0.01 {
		t.Fatalf("rates %v/s %v/s ratio %v", s.MessageRate, s.ErrorRate, s.ErrorRatio)
	}
}

func TestRateAtStartUp(t *testing.T) {
	c := newClock()
	tr, _ := New(Config{Now: c.now})
	for range 20 {
		tr.Message()
	}
	c.advance(2 * time.Second)
	if r := tr.Snapshot().MessageRate; r != 10 {
		t.Fatalf("rate %v after 2 s, want 10", r)
	}
}

func TestTrackerTargets(t *testing.T) {
	c := newClock()
	tr, _ := New(Config{Now: c.now})
	for range 50 {
		tr.Observe("local", time.Millisecond)
		tr.Observe("remote", 80*time.Millisecond)
	}
	s := tr.Snapshot()
	if s.Overall.Count != 100 || len(s.Targets) != 2 {
		t.Fatalf("snapshot %+v", s)
	}
	if l, r := s.Targets["local"].P99Ms(), s.Targets["remote"].P99Ms(); l > 1.05 || r < 76 || r > 84 {
		t.Fatalf("p99 local %v remote %v", l, r)
	}
	if p := tr.P99(); p != s.Overall.P99 {
		t.Fatalf("P99() %v != snapshot %v", p, s.Overall.P99)
	}
	tr.Forget("remote")
	if _, ok := tr.Snapshot().Targets["remote"]; ok {
		t.Fatal("forgotten target still listed")
	}
	c.advance(time.Minute)
	if s := tr.Snapshot(); len(s.Targets) != 0 || s.Overall.Count != 0 {
		t.Fatalf("targets outside the window listed: %+v", s)
	}
}

func TestConcurrentObserve(t *testing.T) {
	c := newClock()
	tr, _ := New(Config{Slices: 4, Slice: 10 * time.Millisecond, Now: c.now})
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for range each {
				tr.Observe([]string{"a", "b", "c"}[i%3], time.Duration(i+1)*time.Millisecond)
				tr.Message()
			}
		})
	}
	var reads sync.WaitGroup
	reads.Go(func() {
		for range 200 {
			tr.Snapshot()
		}
	})
	wg.Wait()
	reads.Wait()
	s := tr.Snapshot()
	if s.Overall.Count != workers*each || s.Messages != workers*each {
		t.Fatalf("count %d messages %d, want %d", s.Overall.Count, s.Messages, workers*each)
	}
	var sum uint64
	for _, st := range s.Targets {
		sum += st.Count
	}
	if sum != workers*each {
		t.Fatalf("per-target counts sum %d", sum)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{Slices: 1}, {Slices: -3}, {Slice: time.Microsecond}} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) err = %v", cfg, err)
		}
	}
}
