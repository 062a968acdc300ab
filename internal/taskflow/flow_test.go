package taskflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// trace records task events in order.
type trace struct {
	mu     sync.Mutex
	events []string
}

func (tr *trace) add(e string) {
	tr.mu.Lock()
	tr.events = append(tr.events, e)
	tr.mu.Unlock()
}

func (tr *trace) index(e string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, x := range tr.events {
		if x == e {
			return i
		}
	}
	return -1
}

func (tr *trace) task(name string) Func {
	return func(context.Context) error {
		tr.add("start " + name)
		tr.add("end " + name)
		return nil
	}
}

func TestFlowOrder(t *testing.T) {
	tr := &trace{}
	f := New()
	// fetch → (parse-cve, parse-cwe) → store, plus an independent import.
	f.Add("fetch", tr.task("fetch"))
	f.Add("parse-cve", tr.task("parse-cve"), "fetch")
	f.Add("parse-cwe", tr.task("parse-cwe")).After("fetch")
	f.Add("store", tr.task("store"), "parse-cve", "parse-cwe")
	f.Add("import-capec", tr.task("import-capec"))
	if err := f.Run(context.Background(), RunOptions{Limiter: NewLimiter(3)}); err != nil {
		t.Fatal(err)
	}
	for _, dep := range [][2]string{{"fetch", "parse-cve"}, {"fetch", "parse-cwe"}, {"parse-cve", "store"}, {"parse-cwe", "store"}} {
		if tr.index("end "+dep[0]) > tr.index("start "+dep[1]) {
			t.Errorf("%s started before %s ended: %v", dep[1], dep[0], tr.events)
		}
	}
	if len(tr.events) != 10 {
		t.Errorf("events %v", tr.events)
	}
}

func TestFlowValidate(t *testing.T) {
	nop := func(context.Context) error { return nil }
	tests := []struct {
		name  string
		build func(f *Flow)
		want  error
		text  string
	}{
		{"cycle", func(f *Flow) { f.Add("a", nop, "c"); f.Add("b", nop, "a"); f.Add("c", nop, "b") }, ErrCycle, "a -> c -> b -> a"},
		{"self", func(f *Flow) { f.Add("x", nop); f.Add("y", nop, "y") }, ErrCycle, "y -> y"},
		{"cycle below a root", func(f *Flow) { f.Add("r", nop, "p"); f.Add("p", nop, "q"); f.Add("q", nop, "p") }, ErrCycle, "p -> q -> p"},
		{"unknown", func(f *Flow) { f.Add("store", nop, "fetch") }, ErrUnknownDep, `"store" depends on "fetch"`},
		{"duplicate", func(f *Flow) { f.Add("a", nop); f.Add("a", nop) }, ErrTask, `duplicate task name "a"`},
		{"empty", func(f *Flow) { f.Add("", nop) }, ErrTask, "empty name"},
		{"nil fn", func(f *Flow) { f.Add("a", nil) }, ErrTask, `"a" has no function`},
	}
	for _, tt := range tests {
		f := New()
		tt.build(f)
		err := f.Validate()
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: Validate = %v, want %v naming %q", tt.name, err, tt.want, tt.text)
		}
		if rerr := f.Run(context.Background(), RunOptions{}); !errors.Is(rerr, tt.want) {
			t.Errorf("%s: Run = %v", tt.name, rerr)
		}
	}
}

// sleeps records the waits asked of a fake SleepFunc.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

// failing returns a Func that fails n times with err, then succeeds.
func failing(n int, err error, calls *int) Func {
	return func(context.Context) error {
		*calls++
		if *calls <= n {
			return fmt.Errorf("attempt %d: %w", *calls, err)
		}
		return nil
	}
}

func TestFlowRetry(t *testing.T) {
	errNVD := errors.New("nvd: 503 Service Unavailable")
	backoff := Exponential(100*time.Millisecond, 300*time.Millisecond)
	tests := []struct {
		name    string
		fails   int
		err     error
		retries int
		calls   int
		sleeps  []time.Duration
		wantErr bool
	}{
		{"recovers", 3, errNVD, 3, 4, []time.Duration{100e6, 200e6, 300e6}, false},
		{"exhausted", 5, errNVD, 2, 3, []time.Duration{100e6, 200e6}, true},
		{"permanent", 5, Permanent(errNVD), 3, 1, nil, true},
	}
	for _, tt := range tests {
		calls := 0
		s := &sleeps{}
		f := New()
		f.Add("fetch", failing(tt.fails, tt.err, &calls)).WithRetry(Retry{Retries: tt.retries, Backoff: backoff})
		err := f.Run(context.Background(), RunOptions{Sleep: s.sleep})
		if (err != nil) != tt.wantErr || calls != tt.calls || fmt.Sprint(s.d) != fmt.Sprint(tt.sleeps) {
			t.Errorf("%s: err %v, %d calls, sleeps %v; want %d calls, sleeps %v", tt.name, err, calls, s.d, tt.calls, tt.sleeps)
		}
		if tt.wantErr && (!errors.Is(err, errNVD) || !strings.Contains(err.Error(), `task "fetch"`)) {
			t.Errorf("%s: error %v does not name the task and wrap the cause", tt.name, err)
		}
	}
	if IsPermanent(errNVD) || !IsPermanent(fmt.Errorf("x: %w", Permanent(errNVD))) || Permanent(nil) != nil {
		t.Error("IsPermanent/Permanent")
	}
}

func TestFlowFirstErrorStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errStore := errors.New("sqlite: disk I/O error")
		tr := &trace{}
		f := New()
		f.Add("slow", func(ctx context.Context) error {
			tr.add("start slow")
			<-ctx.Done() // stopped by the failure of "store"
			tr.add("slow cancelled")
			return ctx.Err()
		})
		f.Add("fetch", tr.task("fetch"))
		f.Add("store", func(context.Context) error { return errStore }, "fetch")
		f.Add("checkpoint", tr.task("checkpoint"), "store")
		err := f.Run(context.Background(), RunOptions{Limiter: NewLimiter(4)})
		if !errors.Is(err, errStore) || !strings.Contains(err.Error(), `task "store"`) {
			t.Fatalf("Run = %v", err)
		}
		if tr.index("start checkpoint") >= 0 || tr.index("slow cancelled") < 0 {
			t.Errorf("events %v", tr.events)
		}
	})
}

func TestFlowCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		f := New()
		ran := false
		f.Add("a", func(context.Context) error { ran = true; return nil })
		done := make(chan error)
		start := time.Now()
		go func() { done <- f.Run(ctx, RunOptions{Limiter: NewLimiter(0)}) }() // no permits
		synctest.Wait()
		cancel()
		err := <-done
		if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) || ran {
			t.Errorf("Run = %v, ran %v", err, ran)
		}
		if time.Since(start) != 0 {
			t.Errorf("Run took %v of fake time", time.Since(start))
		}
	})
}

func TestFlowCancelAfterSuccess(t *testing.T) {
	// "a" ignores cancellation and succeeds; "b" must not start.
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		unblock := make(chan struct{})
		bRan := false
		f := New()
		f.Add("a", func(context.Context) error { <-unblock; return nil })
		f.Add("b", func(context.Context) error { bRan = true; return nil }, "a")
		done := make(chan error)
		go func() { done <- f.Run(ctx, RunOptions{Limiter: NewLimiter(1)}) }()
		synctest.Wait()
		cancel()
		close(unblock)
		if err := <-done; !errors.Is(err, ErrCancelled) || bRan {
			t.Errorf("Run = %v, b ran %v", err, bRan)
		}
	})
}

func TestFlowBoundAndResize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := NewLimiter(2)
		gate := make(chan struct{})
		var mu sync.Mutex
		running, peak := 0, 0
		f := New()
		for i := range 8 {
			f.Add(fmt.Sprintf("page-%d", i), func(context.Context) error {
				mu.Lock()
				running++
				peak = max(peak, running)
				mu.Unlock()
				<-gate
				mu.Lock()
				running--
				mu.Unlock()
				return nil
			})
		}
		done := make(chan error)
		go func() { done <- f.Run(context.Background(), RunOptions{Limiter: lim}) }()
		synctest.Wait()
		if running != 2 {
			t.Fatalf("limit 2: %d running", running)
		}
		lim.SetLimit(5) // more permits granted mid-run
		synctest.Wait()
		if running != 5 {
			t.Fatalf("limit 5: %d running", running)
		}
		close(gate)
		if err := <-done; err != nil || peak != 5 {
			t.Errorf("Run = %v, peak %d", err, peak)
		}
	})
}

func TestExponential(t *testing.T) {
	b := Exponential(time.Second, 5*time.Second)
	var got []time.Duration
	for i := 1; i <= 5; i++ {
		got = append(got, b(i))
	}
	if fmt.Sprint(got) != "[1s 2s 4s 5s 5s]" {
		t.Errorf("Exponential = %v", got)
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(context.Background(), time.Minute); err != nil || time.Since(start) != time.Minute {
			t.Errorf("Sleep: %v after %v", err, time.Since(start))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep with cancelled ctx: %v", err)
		}
	})
}
