package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a Sink that keeps copies of what it got. If gate is non-nil,
// every call first signals entered and then waits for gate.
type recorder struct {
	mu      sync.Mutex
	msgs    []string
	batches []int
	times   []time.Time
	entered chan struct{}
	gate    chan struct{}
	ctx     context.Context // t.Context(): ends before cleanups, so a failed test never hangs in Close
	fail    func(batch [][]byte) error
}

func newGated(t *testing.T) *recorder {
	return &recorder{entered: make(chan struct{}, 1000), gate: make(chan struct{}), ctx: t.Context()}
}

func (r *recorder) sink(batch [][]byte) error {
	if r.gate != nil {
		r.entered <- struct{}{}
		select {
		case <-r.gate:
		case <-r.ctx.Done():
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range batch {
		r.msgs = append(r.msgs, string(m))
	}
	r.batches = append(r.batches, len(batch))
	r.times = append(r.times, time.Now())
	if r.fail != nil {
		return r.fail(batch)
	}
	return nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

func msg(i int) []byte {
	return []byte(`{"type":"request","id":"RPCGetCVEByID","correlation_id":"` + strconv.Itoa(i) + `"}`)
}

func mustNew(t *testing.T, cfg Config, sink Sink) *Queue {
	t.Helper()
	q, err := New("local", cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in   string
		want Policy
		err  bool
	}{{"", Wait, false}, {"wait", Wait, false}, {"drop", Drop, false}, {"reject", Reject, false}, {"Drop", Wait, true}, {"block", Wait, true}}
	for _, tt := range tests {
		got, err := ParsePolicy(tt.in)
		if got != tt.want || (err != nil) != tt.err || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("ParsePolicy(%q) = %v, %v", tt.in, got, err)
		}
		if err == nil && tt.in != "" && got.String() != tt.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{Buffer: -1}, {Workers: -2}, {Batch: -1}, {Flush: -time.Second}, {Policy: 7}} {
		if _, err := New("x", cfg, func([][]byte) error { return nil }); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) err = %v", cfg, err)
		}
	}
	if _, err := NewGroup(Config{Buffer: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("NewGroup err = %v", err)
	}
}

func TestDeliversInOrder(t *testing.T) {
	for _, batch := range []int{1, 3, 16} {
		t.Run(fmt.Sprint("batch", batch), func(t *testing.T) {
			r := &recorder{}
			q := mustNew(t, Config{Buffer: 8, Batch: batch, Flush: time.Millisecond}, r.sink)
			var want []string
			for i := range 100 {
				if err := q.Offer(context.Background(), msg(i)); err != nil {
					t.Fatal(err)
				}
				want = append(want, string(msg(i)))
			}
			q.Close()
			if got := r.got(); !slices.Equal(got, want) {
				t.Fatalf("delivered %d messages out of order or incomplete", len(got))
			}
			st := q.Stats()
			if st.Offered != 100 || st.Enqueued != 100 || st.Delivered != 100 || st.Batches != uint64(len(r.batches)) {
				t.Fatalf("stats %+v", st)
			}
			for _, n := range r.batches {
				if n > batch {
					t.Fatalf("batch of %d > %d", n, batch)
				}
			}
		})
	}
}

func TestCopiesUnlessNoCopy(t *testing.T) {
	for _, noCopy := range []bool{false, true} {
		r := newGated(t)
		q := mustNew(t, Config{NoCopy: noCopy}, r.sink)
		buf := []byte("first")
		q.Offer(context.Background(), buf)
		copy(buf, "XXXXX") // the caller reuses its read buffer
		close(r.gate)
		q.Close()
		want := "first"
		if noCopy {
			want = "XXXXX"
		}
		if got := r.got(); len(got) != 1 || got[0] != want {
			t.Errorf("NoCopy=%v delivered %q, want %q", noCopy, got, want)
		}
	}
}

func TestLargeMessageNotPooled(t *testing.T) {
	r := &recorder{}
	q := mustNew(t, Config{}, r.sink)
	big := bytes.Repeat([]byte("x"), maxPooled+1)
	q.Offer(context.Background(), big)
	q.Close()
	if got := r.got(); len(got) != 1 || got[0] != string(big) {
		t.Fatal("large message not delivered intact")
	}
}

func TestFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		q := mustNew(t, Config{Batch: 4, Flush: 10 * time.Millisecond}, r.sink)
		start := time.Now()
		for i := range 10 {
			q.Offer(context.Background(), msg(i))
		}
		synctest.Wait()
		r.mu.Lock()
		if !slices.Equal(r.batches, []int{4, 4}) {
			t.Errorf("before the flush interval: batches %v, want [4 4]", r.batches)
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		r.mu.Lock()
		defer r.mu.Unlock()
		if !slices.Equal(r.batches, []int{4, 4, 2}) || r.times[2].Sub(start) != 10*time.Millisecond {
			t.Errorf("after: batches %v at %v, want [4 4 2], last at 10ms", r.batches, r.times[len(r.times)-1].Sub(start))
		}
	})
}

// TestSlowConsumer fills a queue whose sink is stuck and checks, for each
// policy, where the extra messages went and that memory stayed bounded.
func TestSlowConsumer(t *testing.T) {
	const buffer, n = 4, 50
	tests := []struct {
		policy  Policy
		wantErr error
	}{{Drop, ErrDropped}, {Reject, ErrFull}}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			r := newGated(t)
			q := mustNew(t, Config{Buffer: buffer, Policy: tt.policy}, r.sink)
			q.Offer(context.Background(), msg(0))
			<-r.entered // msg 0 is in the sink, which is stuck
			var refused int
			for i := 1; i < n; i++ {
				err := q.Offer(context.Background(), msg(i))
				if err != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("offer %d: %v", i, err)
				}
				if err != nil {
					refused++
				}
			}
			st := q.Stats()
			if st.Enqueued != 1+buffer || refused != n-1-buffer || st.Len != buffer {
				t.Fatalf("enqueued %d refused %d len %d, want %d %d %d", st.Enqueued, refused, st.Len, 1+buffer, n-1-buffer, buffer)
			}
			if q.Saturation() != 1 {
				t.Fatalf("saturation %v, want 1", q.Saturation())
			}
			close(r.gate)
			q.Close()
			st = q.Stats()
			lost := st.Dropped + st.Rejected
			if st.Offered != n || st.Enqueued+lost != n || st.Delivered != st.Enqueued || lost != uint64(refused) {
				t.Fatalf("stats %+v", st)
			}
			if got := r.got(); len(got) != 1+buffer || got[buffer] != string(msg(buffer)) {
				t.Fatalf("delivered %v", got) // the first 1+buffer, in order
			}
		})
	}
	t.Run("wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newGated(t)
			q := mustNew(t, Config{Buffer: buffer, Policy: Wait}, r.sink)
			var producer sync.WaitGroup
			producer.Go(func() {
				for i := range n {
					if err := q.Offer(context.Background(), msg(i)); err != nil {
						t.Errorf("offer %d: %v", i, err)
					}
				}
			})
			synctest.Wait() // sink stuck on msg 0, producer blocked on a full queue
			if st := q.Stats(); st.Enqueued != 1+buffer || st.Len != buffer || st.Offered != 2+buffer {
				t.Fatalf("while stuck: %+v", st)
			}
			close(r.gate)
			producer.Wait()
			q.Close()
			st := q.Stats()
			if st.Offered != n || st.Delivered != n || st.Dropped+st.Rejected+st.Canceled+st.Refused != 0 {
				t.Fatalf("stats %+v", st)
			}
			if got := r.got(); len(got) != n || got[n-1] != string(msg(n-1)) || got[0] != string(msg(0)) {
				t.Fatalf("lost or reordered: %d delivered", len(got))
			}
		})
	})
}

func TestWaitContextAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newGated(t)
		q, _ := New("meta", Config{Buffer: 1}, r.sink)
		q.Offer(context.Background(), msg(0))
		<-r.entered
		q.Offer(context.Background(), msg(1)) // fills the buffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := q.Offer(ctx, msg(2)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("offer with deadline: %v", err)
		}
		var waiting sync.WaitGroup
		waiting.Go(func() {
			if err := q.Offer(context.Background(), msg(3)); !errors.Is(err, ErrClosed) {
				t.Errorf("offer waiting during Close: %v", err)
			}
		})
		synctest.Wait()
		closed := make(chan struct{})
		go func() { q.Close(); close(closed) }()
		waiting.Wait() // Close woke the waiting Offer
		close(r.gate)  // let the sink finish msg 0; Close delivers msg 1
		<-closed
		if err := q.Offer(context.Background(), msg(4)); !errors.Is(err, ErrClosed) {
			t.Fatalf("offer after Close: %v", err)
		}
		q.Close() // twice is fine
		st := q.Stats()
		if st.Canceled != 1 || st.Refused != 2 || st.Delivered != 2 || st.Offered != 5 {
			t.Fatalf("stats %+v", st)
		}
		if got := r.got(); !slices.Equal(got, []string{string(msg(0)), string(msg(1))}) {
			t.Fatalf("delivered %q", got)
		}
	})
}

func TestSinkErrorsCounted(t *testing.T) {
	r := &recorder{fail: func(b [][]byte) error {
		if bytes.Contains(b[0], []byte(`"3"`)) {
			return errors.New("write |1: broken pipe")
		}
		return nil
	}}
	q := mustNew(t, Config{}, r.sink)
	for i := range 6 {
		q.Offer(context.Background(), msg(i))
	}
	q.Close()
	if st := q.Stats(); st.SinkErrors != 1 || st.Failed != 1 || st.Delivered != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{"", "wait", "drop", "reject", "WAIT", "drop "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePolicy(s)
		if err != nil {
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("ParsePolicy(%q) error %v does not name the input", s, err)
			}
			return
		}
		if s != "" && p.String() != s {
			t.Fatalf("ParsePolicy(%q) = %v", s, p)
		}
	})
}

func TestOnWaitAndZeroFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newGated(t)
		var mu sync.Mutex
		waits := map[string][]time.Duration{}
		q := mustNew(t, Config{Batch: 8, Flush: 0, OnWait: func(dest string, d time.Duration) {
			mu.Lock()
			waits[dest] = append(waits[dest], d)
			mu.Unlock()
		}}, r.sink)
		q.Offer(context.Background(), msg(0))
		<-r.entered // flush 0: a batch of one went out without waiting for more
		time.Sleep(30 * time.Millisecond)
		q.Offer(context.Background(), msg(1))
		q.Offer(context.Background(), msg(2))
		time.Sleep(20 * time.Millisecond)
		r.gate <- struct{}{} // finish batch 1; batch 2 = msgs 1 and 2, having waited 20ms
		<-r.entered
		close(r.gate)
		q.Close()
		mu.Lock()
		defer mu.Unlock()
		want := []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond}
		if fmt.Sprint(waits["local"]) != fmt.Sprint(want) || fmt.Sprint(r.batches) != "[1 2]" {
			t.Fatalf("waits %v batches %v, want %v [1 2]", waits, r.batches, want)
		}
	})
}
