package nvd

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock whose Sleep advances it instantly.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

// maxInWindow is the most stamps in any half-open window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best := 0
	for i := range ts {
		n := 0
		for _, t := range ts {
			if !t.Before(ts[i]) && t.Before(ts[i].Add(w)) {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

func TestPacerKeepsRollingWindow(t *testing.T) {
	tests := []struct {
		limit   int
		window  time.Duration
		latency time.Duration // from send to response headers
		n       int
		// want is the send time of the last request, measured from the start.
		want time.Duration
	}{
		{5, 30 * time.Second, 0, 5, 0},
		{5, 30 * time.Second, 0, 6, 30 * time.Second},
		{5, 30 * time.Second, 0, 23, 4 * 30 * time.Second},
		{50, 30 * time.Second, 0, 151, 3 * 30 * time.Second},
		// Sequential requests taking 1s each: the window counts from the
		// moment each answer began, the latest NVD can have counted it.
		{5, 30 * time.Second, time.Second, 6, time.Second + 30*time.Second},
	}
	for _, tt := range tests {
		clk := newFakeClock()
		start := clk.Now()
		p := NewPacer(PacerConfig{Limit: tt.limit, Window: tt.window, Now: clk.Now, Sleep: clk.Sleep})
		var sent []time.Time
		for range tt.n {
			s, err := p.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, clk.Now())
			clk.Sleep(context.Background(), tt.latency)
			s.Done(clk.Now())
		}
		if got := sent[len(sent)-1].Sub(start); got != tt.want {
			t.Errorf("limit %d, %d requests: last sent at +%v, want +%v", tt.limit, tt.n, got, tt.want)
		}
		if m := maxInWindow(sent, tt.window); m > tt.limit {
			t.Errorf("limit %d: %d requests in one window", tt.limit, m)
		}
		if st := p.Stats(); st.Requests != tt.n {
			t.Errorf("Stats.Requests = %d, want %d", st.Requests, tt.n)
		}
	}
}

func TestPacerWaitsForRequestsInFlight(t *testing.T) {
	p := NewPacer(PacerConfig{Limit: 1, Window: time.Millisecond})
	first, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	done := false
	got := make(chan bool, 1)
	go func() {
		s, err := p.Acquire(context.Background())
		mu.Lock()
		got <- err == nil && done
		mu.Unlock()
		s.Done(time.Now())
	}()
	time.Sleep(20 * time.Millisecond) // many windows: only the pending request holds the slot
	mu.Lock()
	done = true
	mu.Unlock()
	first.Done(time.Now())
	first.Done(time.Now().Add(time.Hour)) // a second Done is ignored
	if !<-got {
		t.Error("a request started while the only slot's request was in flight")
	}
}

func TestPacerHold(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	p := NewPacer(PacerConfig{Limit: 5, Window: 30 * time.Second, Now: clk.Now, Sleep: clk.Sleep})
	p.Hold(start.Add(42 * time.Second))
	p.Hold(start.Add(time.Second)) // an earlier hold does not shorten it
	if _, err := p.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(start); got != 42*time.Second {
		t.Errorf("first request after hold at +%v, want +42s", got)
	}
}

func TestPacerCancel(t *testing.T) {
	p := NewPacer(PacerConfig{Limit: 1, Window: time.Hour})
	if _, err := p.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Acquire(ctx); err == nil {
		t.Error("Acquire on a full window with a cancelled context succeeded")
	}
}

// TestPacerConcurrent checks the window under real concurrency and a real
// clock (a short window), counting only, never timing.
func TestPacerConcurrent(t *testing.T) {
	const limit, window = 3, 20 * time.Millisecond
	p := NewPacer(PacerConfig{Limit: limit, Window: window})
	var sent []time.Time
	p.trace = func(t time.Time) { sent = append(sent, t) } // called under the pacer's lock
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 3 {
				s, err := p.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				s.Done(time.Now())
			}
		})
	}
	wg.Wait()
	if m := maxInWindow(sent, window); m > limit {
		t.Errorf("%d requests within one window, limit %d", m, limit)
	}
}
