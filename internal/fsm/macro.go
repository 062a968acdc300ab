package fsm

import (
	"context"
	"maps"
	"sync"
)

// MacroID is the id of the macro FSM (contract §5).
const MacroID = "uee-orchestrator"

// Macro is the orchestrator FSM. It keeps the last known state of every
// provider from the events they bubble up and moves between ORCHESTRATING and
// STABILIZING by the rule in the package doc. It is safe for concurrent use.
type Macro struct {
	m         *Machine[MacroState]
	mu        sync.Mutex // guards providers; held across macro transitions
	providers map[string]ProviderState
}

// NewMacro returns a Macro in state c.Initial (normally MacroBootstrapping).
// An empty c.ID becomes MacroID.
func NewMacro(c Config[MacroState]) *Macro {
	if c.ID == "" {
		c.ID = MacroID
	}
	return &Macro{m: NewMachine(c), providers: map[string]ProviderState{}}
}

// Machine returns the underlying machine, for State and direct transitions.
func (mc *Macro) Machine() *Machine[MacroState] { return mc.m }

// State returns the current macro state.
func (mc *Macro) State() MacroState { return mc.m.State() }

// Providers returns a copy of the last known provider states.
func (mc *Macro) Providers() map[string]ProviderState {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return maps.Clone(mc.providers)
}

// Track records a provider's state without an event, e.g. the persisted
// states loaded at start, before Ready.
func (mc *Macro) Track(id string, s ProviderState) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.providers[id] = s
}

// Observe records ev and applies the macro rule. It returns the error of a
// macro transition that could not be persisted.
func (mc *Macro) Observe(ctx context.Context, ev Event) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.providers[ev.Provider] = ev.State
	return mc.evaluate(ctx, "provider "+ev.Provider+" "+ev.Type.String())
}

// Ready ends bootstrapping (recovery done): BOOTSTRAPPING → ORCHESTRATING,
// then STABILIZING at once if no provider is active. It does nothing in any
// other state.
func (mc *Macro) Ready(ctx context.Context) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.m.State() != MacroBootstrapping {
		return nil
	}
	if err := mc.m.Transition(ctx, MacroOrchestrating, "bootstrap done"); err != nil {
		return err
	}
	return mc.evaluate(ctx, "bootstrap done")
}

// Drain moves to DRAINING (shutdown). It does nothing if already draining.
func (mc *Macro) Drain(ctx context.Context, reason string) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.m.State() == MacroDraining {
		return nil
	}
	return mc.m.Transition(ctx, MacroDraining, reason)
}

// evaluate applies the rule; mc.mu is held.
func (mc *Macro) evaluate(ctx context.Context, reason string) error {
	active := false
	for _, s := range mc.providers {
		active = active || s.Active()
	}
	switch st := mc.m.State(); {
	case st == MacroBootstrapping && active, st == MacroStabilizing && active:
		return mc.m.Transition(ctx, MacroOrchestrating, reason)
	case st == MacroOrchestrating && !active:
		return mc.m.Transition(ctx, MacroStabilizing, reason)
	}
	return nil
}
