package fsm

import (
	"context"
	"errors"
	"testing"

	"github.com/v2e/v2e/internal/urn"
)

func TestEventFor(t *testing.T) {
	P := func(from, to ProviderState, err string) Transition[ProviderState] {
		return Transition[ProviderState]{Machine: "cve", From: from, To: to, Err: err}
	}
	tests := []struct {
		t    Transition[ProviderState]
		want EventType
	}{
		{P(ProviderIdle, ProviderAcquiring, ""), EventStarted},
		{P(ProviderAcquiring, ProviderRunning, ""), EventQuotaGranted},
		{P(ProviderRunning, ProviderWaitingQuota, ""), EventQuotaRevoked},
		{P(ProviderWaitingQuota, ProviderAcquiring, ""), EventQuotaGranted},
		{P(ProviderRunning, ProviderWaitingBackoff, ""), EventRateLimited},
		{P(ProviderWaitingBackoff, ProviderAcquiring, ""), EventResumed},
		{P(ProviderRunning, ProviderPaused, ""), EventPaused},
		{P(ProviderPaused, ProviderAcquiring, ""), EventResumed},
		{P(ProviderRunning, ProviderTerminated, ""), EventCompleted},
		{P(ProviderRunning, ProviderTerminated, "nvd 503"), EventFailed},
	}
	for _, tt := range tests {
		ev := EventFor(tt.t)
		if ev.Type != tt.want || ev.State != tt.t.To || ev.Provider != "cve" {
			t.Errorf("EventFor(%s->%s %q) = %+v, want %s", tt.t.From, tt.t.To, tt.t.Err, ev, tt.want)
		}
	}
}

// wire returns a macro and provider machines that bubble into it, all
// persisting into logs.
func wire(ids ...string) (*Macro, *recorder[MacroState], map[string]*Machine[ProviderState]) {
	ml := &recorder[MacroState]{}
	mc := NewMacro(Config[MacroState]{Persist: ml})
	ps := map[string]*Machine[ProviderState]{}
	for _, id := range ids {
		ps[id] = NewMachine(Config[ProviderState]{ID: id, Persist: &recorder[ProviderState]{},
			OnTransition: func(ctx context.Context, t Transition[ProviderState]) { _ = mc.Observe(ctx, EventFor(t)) }})
	}
	return mc, ml, ps
}

func macroPath(l *recorder[MacroState]) []MacroState {
	var p []MacroState
	for _, t := range l.all() {
		p = append(p, t.To)
	}
	return p
}

func equalPath(a, b []MacroState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMacroRule(t *testing.T) {
	ctx := context.Background()
	mc, ml, ps := wire("cve", "cwe")
	if mc.Machine().ID() != MacroID {
		t.Errorf("macro id %q", mc.Machine().ID())
	}
	step := func(id string, to ProviderState) {
		t.Helper()
		if err := ps[id].Transition(ctx, to, "test"); err != nil {
			t.Fatal(err)
		}
	}
	step("cve", ProviderAcquiring) // active during bootstrap → ORCHESTRATING
	if mc.State() != MacroOrchestrating {
		t.Fatalf("after cve started: %s", mc.State())
	}
	if err := mc.Ready(ctx); err != nil || mc.State() != MacroOrchestrating {
		t.Fatalf("Ready while orchestrating: %v %s", err, mc.State())
	}
	step("cwe", ProviderAcquiring)
	step("cve", ProviderRunning)
	step("cve", ProviderTerminated)
	if mc.State() != MacroOrchestrating {
		t.Fatalf("cwe still active, macro %s", mc.State())
	}
	step("cwe", ProviderPaused) // none active → STABILIZING
	if mc.State() != MacroStabilizing {
		t.Fatalf("all settled, macro %s", mc.State())
	}
	step("cwe", ProviderAcquiring) // active again
	if err := mc.Drain(ctx, "shutdown"); err != nil {
		t.Fatal(err)
	}
	step("cwe", ProviderTerminated) // recorded, no transition out of DRAINING
	if err := mc.Drain(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	want := []MacroState{MacroOrchestrating, MacroStabilizing, MacroOrchestrating, MacroDraining}
	if got := macroPath(ml); !equalPath(got, want) {
		t.Errorf("macro path %v, want %v", got, want)
	}
	if got := mc.Providers(); got["cve"] != ProviderTerminated || got["cwe"] != ProviderTerminated {
		t.Errorf("providers %v", got)
	}
}

func TestMacroReadyIdle(t *testing.T) {
	ctx := context.Background()
	mc, ml, _ := wire()
	mc.Track("capec", ProviderPaused)
	if err := mc.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := macroPath(ml), []MacroState{MacroOrchestrating, MacroStabilizing}; !equalPath(got, want) {
		t.Errorf("path %v, want %v", got, want)
	}
	cp := urn.MustParse("v2e::mitre::capec::CAPEC-66")
	if err := mc.Observe(ctx, Event{Provider: "capec", Type: EventCheckpoint, State: ProviderPaused, URN: cp}); err != nil {
		t.Fatal(err)
	}
	if mc.State() != MacroStabilizing {
		t.Errorf("checkpoint event moved macro to %s", mc.State())
	}
}

func TestMacroPersistFailure(t *testing.T) {
	ctx := context.Background()
	mc, ml, _ := wire()
	ml.fail = errors.New("read-only")
	err := mc.Observe(ctx, Event{Provider: "cve", Type: EventStarted, State: ProviderAcquiring})
	if !errors.Is(err, ml.fail) || mc.State() != MacroBootstrapping {
		t.Errorf("err %v state %s", err, mc.State())
	}
}

func TestRecoverProvider(t *testing.T) {
	tests := []struct {
		s     ProviderState
		act   Action
		final ProviderState
	}{
		{ProviderIdle, Leave, ProviderIdle},
		{ProviderAcquiring, Reacquire, ProviderAcquiring},
		{ProviderRunning, Resume, ProviderAcquiring},
		{ProviderWaitingQuota, Reacquire, ProviderAcquiring},
		{ProviderWaitingBackoff, KeepWaiting, ProviderWaitingBackoff},
		{ProviderPaused, StayPaused, ProviderPaused},
		{ProviderTerminated, Leave, ProviderTerminated},
	}
	for _, tt := range tests {
		r := RecoverProvider(tt.s)
		if r.Action != tt.act {
			t.Errorf("RecoverProvider(%s) action %s, want %s", tt.s, r.Action, tt.act)
		}
		// Walk the steps through a real machine: each must be legal.
		m := NewMachine(Config[ProviderState]{ID: "p", Initial: tt.s, Persist: &recorder[ProviderState]{}})
		for _, to := range r.Steps {
			if err := m.Transition(context.Background(), to, "recovery"); err != nil {
				t.Errorf("RecoverProvider(%s) step: %v", tt.s, err)
			}
		}
		if m.State() != tt.final {
			t.Errorf("RecoverProvider(%s) ends in %s, want %s", tt.s, m.State(), tt.final)
		}
	}
}

func TestRecoverJobAndMacro(t *testing.T) {
	for s, want := range map[JobState]Action{JobQueued: Start, JobRunning: Resume, JobPaused: StayPaused,
		JobCompleted: Leave, JobFailed: Leave, JobStopped: Leave} {
		if got := RecoverJob(s); got != want {
			t.Errorf("RecoverJob(%s) = %s, want %s", s, got, want)
		}
	}
	for _, s := range []MacroState{MacroBootstrapping, MacroOrchestrating, MacroStabilizing, MacroDraining} {
		if RecoverMacro(s) != MacroBootstrapping {
			t.Errorf("RecoverMacro(%s) = %s", s, RecoverMacro(s))
		}
	}
}
