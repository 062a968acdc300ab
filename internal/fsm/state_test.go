package fsm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The transition lists exactly as contract §7 writes them.
var (
	contractJob      = "queued→running|stopped, running→paused|completed|failed|stopped, paused→running|stopped"
	contractMacro    = "BOOTSTRAPPING→ORCHESTRATING|DRAINING, ORCHESTRATING→STABILIZING|DRAINING, STABILIZING→ORCHESTRATING|DRAINING"
	contractProvider = "IDLE→ACQUIRING, ACQUIRING→RUNNING|PAUSED|TERMINATED, RUNNING→WAITING_QUOTA|WAITING_BACKOFF|PAUSED|TERMINATED, " +
		"WAITING_QUOTA→ACQUIRING|TERMINATED, WAITING_BACKOFF→ACQUIRING|TERMINATED, PAUSED→ACQUIRING|TERMINATED"
)

// allowed parses a contract transition list into a set of "from→to".
func allowed(list string) map[string]bool {
	set := map[string]bool{}
	for _, rule := range strings.Split(list, ", ") {
		from, tos, _ := strings.Cut(rule, "→")
		for _, to := range strings.Split(tos, "|") {
			set[from+"→"+to] = true
		}
	}
	return set
}

func checkTable[S State[S]](t *testing.T, states []S, list string) {
	t.Helper()
	want := allowed(list)
	got := 0
	for _, from := range states {
		for _, to := range states {
			key := from.String() + "→" + to.String()
			if from.CanTransition(to) != want[key] {
				t.Errorf("CanTransition %s = %v, contract says %v", key, from.CanTransition(to), want[key])
			}
			err := check("test", "x", from, to)
			if want[key] {
				got++
				if err != nil {
					t.Errorf("check %s: %v", key, err)
				}
				continue
			}
			if !errors.Is(err, ErrInvalidTransition) || !strings.Contains(err.Error(), from.String()+" -> "+to.String()) {
				t.Errorf("check %s error = %v, want ErrInvalidTransition naming both states", key, err)
			}
		}
	}
	if got != len(want) {
		t.Errorf("%d transitions allowed, contract lists %d", got, len(want))
	}
}

func TestTables(t *testing.T) {
	checkTable(t, []JobState{JobQueued, JobRunning, JobPaused, JobCompleted, JobFailed, JobStopped}, contractJob)
	checkTable(t, []MacroState{MacroBootstrapping, MacroOrchestrating, MacroStabilizing, MacroDraining}, contractMacro)
	checkTable(t, []ProviderState{ProviderIdle, ProviderAcquiring, ProviderRunning, ProviderWaitingQuota,
		ProviderWaitingBackoff, ProviderPaused, ProviderTerminated}, contractProvider)
	if ProviderState(99).CanTransition(ProviderIdle) || ProviderIdle.CanTransition(99) {
		t.Error("out-of-range state allowed")
	}
}

func TestJSONNames(t *testing.T) {
	type rec struct {
		Job      JobState      `json:"job"`
		Macro    MacroState    `json:"macro"`
		Provider ProviderState `json:"provider"`
		Event    EventType     `json:"event"`
	}
	in := rec{JobPaused, MacroStabilizing, ProviderWaitingBackoff, EventQuotaRevoked}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"job":"paused","macro":"STABILIZING","provider":"WAITING_BACKOFF","event":"quota_revoked"}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out rec
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("Unmarshal = %+v, %v", out, err)
	}
	for _, bad := range []string{`{"job":"RUNNING"}`, `{"macro":"draining"}`, `{"provider":"WAITING"}`, `{"event":""}`} {
		out = rec{Job: JobRunning}
		err := json.Unmarshal([]byte(bad), &out)
		if !errors.Is(err, ErrUnknownState) {
			t.Errorf("Unmarshal(%s) error = %v, want ErrUnknownState", bad, err)
		}
		if out.Job != JobRunning {
			t.Errorf("Unmarshal(%s) changed the value on error", bad)
		}
	}
	if _, err := json.Marshal(JobState(42)); !errors.Is(err, ErrUnknownState) {
		t.Errorf("Marshal(JobState(42)) error = %v", err)
	}
	if s := ProviderState(42).String(); s != "state(42)" {
		t.Errorf("String of out-of-range = %q", s)
	}
}

func TestParseNames(t *testing.T) {
	for i, n := range jobNames {
		if s, err := ParseJobState(n); err != nil || int(s) != i || s.String() != n {
			t.Errorf("ParseJobState(%q) = %v, %v", n, s, err)
		}
	}
	for i, n := range macroNames {
		if s, err := ParseMacroState(n); err != nil || int(s) != i {
			t.Errorf("ParseMacroState(%q) = %v, %v", n, s, err)
		}
	}
	for i, n := range providerNames {
		if s, err := ParseProviderState(n); err != nil || int(s) != i {
			t.Errorf("ParseProviderState(%q) = %v, %v", n, s, err)
		}
	}
	if _, err := ParseJobState("done"); err == nil || !strings.Contains(err.Error(), `"done"`) {
		t.Errorf("ParseJobState(done) error = %v, want it to quote the name", err)
	}
}

func TestActiveAndTerminal(t *testing.T) {
	for s, want := range map[ProviderState]bool{ProviderIdle: false, ProviderAcquiring: true, ProviderRunning: true,
		ProviderWaitingQuota: true, ProviderWaitingBackoff: true, ProviderPaused: false, ProviderTerminated: false} {
		if s.Active() != want {
			t.Errorf("%s.Active() = %v", s, !want)
		}
	}
	for s, want := range map[JobState]bool{JobQueued: false, JobRunning: false, JobPaused: false,
		JobCompleted: true, JobFailed: true, JobStopped: true} {
		if s.Terminal() != want || s.Active() == want {
			t.Errorf("%s: Terminal %v Active %v", s, s.Terminal(), s.Active())
		}
	}
}
