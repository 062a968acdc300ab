package fsm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/v2e/v2e/internal/urn"
)

// ErrNoPersister is returned by Apply when neither the Machine nor the Change
// has a way to persist the transition.
var ErrNoPersister = errors.New("fsm: no persister")

// Transition is one state change as it is persisted and logged.
type Transition[S State[S]] struct {
	Machine string    `json:"machine"`         // machine id: provider id, "uee-orchestrator" or session id
	From    S         `json:"from"`            // state before
	To      S         `json:"to"`              // state after
	Reason  string    `json:"reason"`          // why, free text ("user pause", "quota revoked")
	Err     string    `json:"error,omitempty"` // error that caused it, if any
	URN     urn.URN   `json:"urn,omitzero"`    // resource the machine was at (last checkpoint), if any
	At      time.Time `json:"at"`              // when, from the Machine's clock
}

// Persister writes a transition to durable storage. It is called before the
// transition takes effect; an error cancels the transition.
type Persister[S State[S]] interface {
	Persist(ctx context.Context, t Transition[S]) error
}

// PersistFunc adapts a function to Persister.
type PersistFunc[S State[S]] func(ctx context.Context, t Transition[S]) error

// Persist calls f.
func (f PersistFunc[S]) Persist(ctx context.Context, t Transition[S]) error { return f(ctx, t) }

// Change asks a Machine to move to state To.
type Change[S State[S]] struct {
	To     S
	Reason string
	Err    error   // the failure behind the change, recorded as text
	URN    urn.URN // resource the machine is at, e.g. the checkpoint written with it
	// Persist, when set, replaces the Machine's Persister for this change.
	// Use it to write the transition in the same transaction as the data
	// it guards (a checkpoint, a provider record with new counters).
	Persist PersistFunc[S]
}

// Config configures a Machine. Only ID and Persist are required.
type Config[S State[S]] struct {
	ID      string       // machine id, logged and persisted with each transition
	Initial S            // starting state (the persisted one after a restart)
	Persist Persister[S] // default persister; nil means every Change brings its own
	Logger  *slog.Logger // nil discards logs
	Now     func() time.Time
	// OnTransition, when set, is called with each transition after it took
	// effect, with the Machine's lock held (so calls are in order). It must
	// not call back into this Machine.
	OnTransition func(ctx context.Context, t Transition[S])
}

// Machine holds the current state of one state machine and applies
// transitions to it. It is safe for concurrent use; transitions are
// serialised.
type Machine[S State[S]] struct {
	mu    sync.Mutex
	cfg   Config[S]
	state S
	kind  string
}

// NewMachine returns a Machine in state c.Initial.
func NewMachine[S State[S]](c Config[S]) *Machine[S] {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Machine[S]{cfg: c, state: c.Initial, kind: kindOf[S]()}
}

// ID returns the machine id.
func (m *Machine[S]) ID() string { return m.cfg.ID }

// State returns the current state.
func (m *Machine[S]) State() S {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Transition moves the machine to state to, persisting it first with the
// Machine's Persister. See Apply.
func (m *Machine[S]) Transition(ctx context.Context, to S, reason string) error {
	_, err := m.Apply(ctx, Change[S]{To: to, Reason: reason})
	return err
}

// Apply checks c against the transition table, persists the transition and
// then makes c.To the current state. It returns the applied transition. A
// transition the table refuses returns an error wrapping
// ErrInvalidTransition; a persist error is returned wrapped and the state is
// unchanged.
func (m *Machine[S]) Apply(ctx context.Context, c Change[S]) (Transition[S], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := Transition[S]{Machine: m.cfg.ID, From: m.state, To: c.To, Reason: c.Reason, URN: c.URN, At: m.cfg.Now()}
	if c.Err != nil {
		t.Err = c.Err.Error()
	}
	if err := check(m.kind, m.cfg.ID, m.state, c.To); err != nil {
		m.cfg.Logger.Warn("fsm transition refused", m.attrs(t, slog.String("error", err.Error()))...)
		return t, err
	}
	if err := m.persist(ctx, c, t); err != nil {
		m.cfg.Logger.Error("fsm transition not persisted", m.attrs(t, slog.String("error", err.Error()))...)
		return t, err
	}
	m.state = c.To
	m.cfg.Logger.Info("fsm transition", m.attrs(t)...)
	if m.cfg.OnTransition != nil {
		m.cfg.OnTransition(ctx, t)
	}
	return t, nil
}

func (m *Machine[S]) persist(ctx context.Context, c Change[S], t Transition[S]) error {
	p := m.cfg.Persist
	if c.Persist != nil {
		p = c.Persist
	}
	if p == nil {
		return fmt.Errorf("%w: %s %q: %s -> %s", ErrNoPersister, m.kind, m.cfg.ID, t.From, t.To)
	}
	if err := p.Persist(ctx, t); err != nil {
		return fmt.Errorf("fsm: persist %s %q %s -> %s: %w", m.kind, m.cfg.ID, t.From, t.To, err)
	}
	return nil
}

func (m *Machine[S]) attrs(t Transition[S], extra ...any) []any {
	a := []any{
		slog.String("machine", m.kind), slog.String("id", t.Machine),
		slog.String("from", t.From.String()), slog.String("to", t.To.String()),
	}
	if t.Reason != "" {
		a = append(a, slog.String("reason", t.Reason))
	}
	if !t.URN.IsZero() {
		a = append(a, slog.String("urn", t.URN.String()))
	}
	if t.Err != "" {
		a = append(a, slog.String("cause", t.Err))
	}
	return append(a, extra...)
}
