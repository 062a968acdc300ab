package fsm

import (
	"errors"
	"fmt"
)

// ErrInvalidTransition is wrapped by the error of a refused transition; the
// error text names the machine and both states.
var ErrInvalidTransition = errors.New("fsm: invalid transition")

// ErrUnknownState is wrapped by the error of parsing a state name that does
// not exist; the error text quotes the name.
var ErrUnknownState = errors.New("fsm: unknown state")

// State is implemented by the three state enums of this package.
type State[S any] interface {
	comparable
	fmt.Stringer
	// CanTransition reports whether the transition table allows going to.
	CanTransition(to S) bool
}

// bits returns a bit set of the given states, for transition tables.
func bits[S ~uint8](ss ...S) uint16 {
	var b uint16
	for _, s := range ss {
		b |= 1 << s
	}
	return b
}

// parseName returns the index of name in names, or an error.
func parseName(kind string, names []string, name string) (int, error) {
	for i, n := range names {
		if n == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: %s state %q", ErrUnknownState, kind, name)
}

// nameOf returns names[i] or a placeholder for an out-of-range value.
func nameOf(names []string, i uint8) string {
	if int(i) < len(names) {
		return names[i]
	}
	return fmt.Sprintf("state(%d)", i)
}

// MacroState is the state of the macro FSM (id "uee-orchestrator").
// The zero value is MacroBootstrapping.
type MacroState uint8

// Macro states.
const (
	MacroBootstrapping MacroState = iota
	MacroOrchestrating
	MacroStabilizing
	MacroDraining
)

var macroNames = []string{"BOOTSTRAPPING", "ORCHESTRATING", "STABILIZING", "DRAINING"}

var macroTable = [...]uint16{
	MacroBootstrapping: bits(MacroOrchestrating, MacroDraining),
	MacroOrchestrating: bits(MacroStabilizing, MacroDraining),
	MacroStabilizing:   bits(MacroOrchestrating, MacroDraining),
	MacroDraining:      0,
}

// String returns the state's wire name, e.g. "ORCHESTRATING".
func (s MacroState) String() string { return nameOf(macroNames, uint8(s)) }

// CanTransition reports whether contract §7 allows s → to.
func (s MacroState) CanTransition(to MacroState) bool {
	return int(s) < len(macroTable) && int(to) < len(macroNames) && macroTable[s]&(1<<to) != 0
}

// MarshalText returns the wire name.
func (s MacroState) MarshalText() ([]byte, error) { return marshalName(macroNames, uint8(s), "macro") }

// UnmarshalText parses a wire name.
func (s *MacroState) UnmarshalText(b []byte) error {
	v, err := ParseMacroState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseMacroState parses a wire name such as "DRAINING".
func ParseMacroState(name string) (MacroState, error) {
	i, err := parseName("macro", macroNames, name)
	return MacroState(i), err
}

// ProviderState is the state of one provider FSM. The zero value is
// ProviderIdle.
type ProviderState uint8

// Provider states.
const (
	ProviderIdle ProviderState = iota
	ProviderAcquiring
	ProviderRunning
	ProviderWaitingQuota
	ProviderWaitingBackoff
	ProviderPaused
	ProviderTerminated
)

var providerNames = []string{"IDLE", "ACQUIRING", "RUNNING", "WAITING_QUOTA", "WAITING_BACKOFF", "PAUSED", "TERMINATED"}

var providerTable = [...]uint16{
	ProviderIdle:           bits(ProviderAcquiring),
	ProviderAcquiring:      bits(ProviderRunning, ProviderPaused, ProviderTerminated),
	ProviderRunning:        bits(ProviderWaitingQuota, ProviderWaitingBackoff, ProviderPaused, ProviderTerminated),
	ProviderWaitingQuota:   bits(ProviderAcquiring, ProviderTerminated),
	ProviderWaitingBackoff: bits(ProviderAcquiring, ProviderTerminated),
	ProviderPaused:         bits(ProviderAcquiring, ProviderTerminated),
	ProviderTerminated:     0,
}

// String returns the state's wire name, e.g. "WAITING_QUOTA".
func (s ProviderState) String() string { return nameOf(providerNames, uint8(s)) }

// CanTransition reports whether contract §7 allows s → to.
func (s ProviderState) CanTransition(to ProviderState) bool {
	return int(s) < len(providerTable) && int(to) < len(providerNames) && providerTable[s]&(1<<to) != 0
}

// Active reports whether a provider in state s is working or about to
// (ACQUIRING, RUNNING, WAITING_QUOTA, WAITING_BACKOFF); IDLE, PAUSED and
// TERMINATED are settled.
func (s ProviderState) Active() bool {
	switch s {
	case ProviderAcquiring, ProviderRunning, ProviderWaitingQuota, ProviderWaitingBackoff:
		return true
	}
	return false
}

// MarshalText returns the wire name.
func (s ProviderState) MarshalText() ([]byte, error) {
	return marshalName(providerNames, uint8(s), "provider")
}

// UnmarshalText parses a wire name.
func (s *ProviderState) UnmarshalText(b []byte) error {
	v, err := ParseProviderState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseProviderState parses a wire name such as "RUNNING".
func ParseProviderState(name string) (ProviderState, error) {
	i, err := parseName("provider", providerNames, name)
	return ProviderState(i), err
}

// JobState is the state of a job session. Its wire names are lower case.
// The zero value is JobQueued.
type JobState uint8

// Job session states.
const (
	JobQueued JobState = iota
	JobRunning
	JobPaused
	JobCompleted
	JobFailed
	JobStopped
)

var jobNames = []string{"queued", "running", "paused", "completed", "failed", "stopped"}

var jobTable = [...]uint16{
	JobQueued:    bits(JobRunning, JobStopped),
	JobRunning:   bits(JobPaused, JobCompleted, JobFailed, JobStopped),
	JobPaused:    bits(JobRunning, JobStopped),
	JobCompleted: 0,
	JobFailed:    0,
	JobStopped:   0,
}

// String returns the state's wire name, e.g. "running".
func (s JobState) String() string { return nameOf(jobNames, uint8(s)) }

// CanTransition reports whether contract §7 allows s → to.
func (s JobState) CanTransition(to JobState) bool {
	return int(s) < len(jobTable) && int(to) < len(jobNames) && jobTable[s]&(1<<to) != 0
}

// Terminal reports whether s is completed, failed or stopped.
func (s JobState) Terminal() bool { return s == JobCompleted || s == JobFailed || s == JobStopped }

// Active reports whether a session in state s counts as the one active run
// (queued, running or paused).
func (s JobState) Active() bool { return s == JobQueued || s == JobRunning || s == JobPaused }

// MarshalText returns the wire name.
func (s JobState) MarshalText() ([]byte, error) { return marshalName(jobNames, uint8(s), "job") }

// UnmarshalText parses a wire name.
func (s *JobState) UnmarshalText(b []byte) error {
	v, err := ParseJobState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseJobState parses a wire name such as "paused".
func ParseJobState(name string) (JobState, error) {
	i, err := parseName("job", jobNames, name)
	return JobState(i), err
}

func marshalName(names []string, i uint8, kind string) ([]byte, error) {
	if int(i) >= len(names) {
		return nil, fmt.Errorf("%w: %s state %d", ErrUnknownState, kind, i)
	}
	return []byte(names[i]), nil
}

// check returns nil if from → to is allowed, else an error naming both.
func check[S State[S]](kind, id string, from, to S) error {
	if from.CanTransition(to) {
		return nil
	}
	return fmt.Errorf("%w: %s %q: %s -> %s", ErrInvalidTransition, kind, id, from, to)
}

// kindOf names the machine kind of a state type, for errors and logs.
func kindOf[S any]() string {
	var s S
	switch any(s).(type) {
	case MacroState:
		return "macro"
	case ProviderState:
		return "provider"
	case JobState:
		return "session"
	}
	return "machine"
}
