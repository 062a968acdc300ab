// Package fsm holds the state machines of the meta service (contract §7): the
// job session (JobState), the Unified ETL Engine's macro orchestrator
// (MacroState) and its providers (ProviderState).
//
// Each state type is a typed enum with String and text (JSON) marshalling by
// name, and one transition table, consulted by CanTransition. A Machine holds
// the current state of one machine and is the only way to change it: Apply
// checks the table, persists the Transition through a Persister (or a
// per-change PersistFunc that writes the transition in the same transaction
// as the data it guards, such as a checkpoint) and only then makes the new
// state current, logs it with slog and calls the OnTransition hook. A refused
// transition returns an error wrapping ErrInvalidTransition that names both
// states; a failed persist leaves the machine where it was.
//
// Provider machines bubble their transitions to the Macro as Events
// (EventFor). The Macro applies this rule:
//
//   - BOOTSTRAPPING until Ready is called (recovery done) or a provider becomes
//     active, then ORCHESTRATING;
//   - ORCHESTRATING while at least one provider is active (ACQUIRING, RUNNING,
//     WAITING_QUOTA, WAITING_BACKOFF);
//   - STABILIZING when none is (all IDLE, PAUSED or TERMINATED), back to
//     ORCHESTRATING when one becomes active again;
//   - DRAINING on Drain (shutdown), from any state; DRAINING is final and
//     events are then only recorded.
//
// RecoverProvider and RecoverJob are the restart rules of contract §7 as pure
// functions of the persisted state.
//
// Lock order: a provider Machine's lock is held while its OnTransition hook
// runs, so the order is provider Machine → Macro → macro Machine. Hooks and
// persisters must not call back into the Machine that invoked them.
package fsm
