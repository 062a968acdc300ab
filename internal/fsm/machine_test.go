package fsm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/urn"
)

var t0 = time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)

// recorder records persisted transitions, and can be told to fail.
type recorder[S State[S]] struct {
	mu   sync.Mutex
	ts   []Transition[S]
	fail error
}

func (l *recorder[S]) Persist(_ context.Context, t Transition[S]) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.ts = append(l.ts, t)
	return nil
}

func (l *recorder[S]) all() []Transition[S] {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Transition[S](nil), l.ts...)
}

func TestMachinePersistsBeforeEffect(t *testing.T) {
	ctx := context.Background()
	var m *Machine[ProviderState]
	var seen []ProviderState
	p := PersistFunc[ProviderState](func(_ context.Context, tr Transition[ProviderState]) error {
		seen = append(seen, m.state) // lock is held by Apply; read the field directly
		return nil
	})
	m = NewMachine(Config[ProviderState]{ID: "cve", Persist: p, Now: func() time.Time { return t0 }})
	if err := m.Transition(ctx, ProviderAcquiring, "start"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != ProviderIdle {
		t.Errorf("state during persist = %v, want IDLE (not yet changed)", seen)
	}
	if m.State() != ProviderAcquiring {
		t.Errorf("state after = %s", m.State())
	}
}

func TestMachineRefusesAndKeepsState(t *testing.T) {
	ctx := context.Background()
	l := &recorder[ProviderState]{}
	m := NewMachine(Config[ProviderState]{ID: "cve", Persist: l})
	err := m.Transition(ctx, ProviderRunning, "skip acquire")
	if !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("IDLE -> RUNNING error = %v", err)
	}
	for _, want := range []string{"IDLE", "RUNNING", `"cve"`, "provider"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if len(l.all()) != 0 || m.State() != ProviderIdle {
		t.Errorf("refused transition persisted %v or changed state to %s", l.all(), m.State())
	}

	l.fail = errors.New("disk full")
	err = m.Transition(ctx, ProviderAcquiring, "start")
	if err == nil || !errors.Is(err, l.fail) || m.State() != ProviderIdle {
		t.Errorf("failed persist: err %v, state %s; want wrapped disk full and IDLE", err, m.State())
	}
}

func TestMachineChangePersistOverride(t *testing.T) {
	ctx := context.Background()
	def := &recorder[JobState]{}
	m := NewMachine(Config[JobState]{ID: "job-1", Persist: def, Now: func() time.Time { return t0 }})
	var got Transition[JobState]
	cp := urn.MustParse("v2e::nvd::cve::CVE-2021-44228")
	tr, err := m.Apply(ctx, Change[JobState]{To: JobRunning, Reason: "start", URN: cp,
		Persist: func(_ context.Context, t Transition[JobState]) error { got = t; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	want := Transition[JobState]{Machine: "job-1", From: JobQueued, To: JobRunning, Reason: "start", URN: cp, At: t0}
	if got != want || tr != want {
		t.Errorf("persisted %+v, returned %+v, want %+v", got, tr, want)
	}
	if len(def.all()) != 0 {
		t.Error("default persister called despite Change.Persist")
	}
	b, _ := json.Marshal(tr)
	if !strings.Contains(string(b), `"from":"queued","to":"running"`) {
		t.Errorf("transition JSON %s", b)
	}
}

func TestMachineNoPersister(t *testing.T) {
	m := NewMachine(Config[JobState]{ID: "j"})
	if err := m.Transition(context.Background(), JobRunning, ""); !errors.Is(err, ErrNoPersister) || m.State() != JobQueued {
		t.Errorf("err %v state %s", err, m.State())
	}
}

func TestMachineLogsTransition(t *testing.T) {
	var buf bytes.Buffer
	lg := slog.New(slog.NewJSONHandler(&buf, nil))
	m := NewMachine(Config[ProviderState]{ID: "cve", Initial: ProviderRunning, Persist: &recorder[ProviderState]{}, Logger: lg})
	cp := urn.MustParse("v2e::nvd::cve::CVE-2024-0001")
	if _, err := m.Apply(context.Background(), Change[ProviderState]{To: ProviderTerminated, Err: errors.New("boom"), URN: cp}); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	for k, v := range map[string]string{"msg": "fsm transition", "machine": "provider", "id": "cve",
		"from": "RUNNING", "to": "TERMINATED", "urn": cp.String(), "cause": "boom"} {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %q", k, rec[k], v)
		}
	}
}

func TestMachineConcurrentOrder(t *testing.T) {
	ctx := context.Background()
	l := &recorder[ProviderState]{}
	var hooked []Transition[ProviderState]
	m := NewMachine(Config[ProviderState]{ID: "cve", Persist: l,
		OnTransition: func(_ context.Context, t Transition[ProviderState]) { hooked = append(hooked, t) }})
	if err := m.Transition(ctx, ProviderAcquiring, ""); err != nil {
		t.Fatal(err)
	}
	// Many goroutines race between ACQUIRING → RUNNING → PAUSED → ACQUIRING;
	// whatever interleaving wins, the persisted chain must be connected.
	next := map[ProviderState]ProviderState{ProviderAcquiring: ProviderRunning, ProviderRunning: ProviderPaused, ProviderPaused: ProviderAcquiring}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				s := m.State()
				_ = m.Transition(ctx, next[s], "race") // may be refused if another goroutine moved first
			}
		})
	}
	wg.Wait()
	ts := l.all()
	if len(ts) != len(hooked) {
		t.Fatalf("%d persisted, %d hooked", len(ts), len(hooked))
	}
	for i := 1; i < len(ts); i++ {
		if ts[i].From != ts[i-1].To || hooked[i] != ts[i] {
			t.Fatalf("transition %d %s->%s does not follow %s->%s", i, ts[i].From, ts[i].To, ts[i-1].From, ts[i-1].To)
		}
	}
	if ts[len(ts)-1].To != m.State() {
		t.Errorf("last persisted %s, current %s", ts[len(ts)-1].To, m.State())
	}
}
