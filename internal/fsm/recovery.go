package fsm

// Action is what to do with a machine after a restart.
type Action uint8

// Recovery actions.
const (
	// Leave: nothing to do (IDLE, TERMINATED, terminal sessions).
	Leave Action = iota
	// Resume: restart the work from the last checkpoint after walking
	// Steps (a provider re-acquires its permits first).
	Resume
	// Reacquire: ask the broker for permits again (ACQUIRING after Steps).
	Reacquire
	// KeepWaiting: stay in WAITING_BACKOFF until the persisted backoff
	// deadline, then go to ACQUIRING.
	KeepWaiting
	// StayPaused: remain paused until the user resumes.
	StayPaused
	// Start: a queued session may be started.
	Start
)

var actionNames = []string{"leave", "resume", "reacquire", "keep_waiting", "stay_paused", "start"}

// String returns the action's name.
func (a Action) String() string { return nameOf(actionNames, uint8(a)) }

// ProviderRecovery says how to bring a provider back after a restart.
type ProviderRecovery struct {
	Action Action
	// Steps are the transitions to apply, in order, through the provider's
	// Machine (so each is persisted); empty when the state stays.
	Steps []ProviderState
}

// RecoverProvider is the restart rule of contract §7 for a provider whose
// persisted state is s. A RUNNING provider lost its permits with the old
// process, so it goes RUNNING → WAITING_QUOTA → ACQUIRING (both legal
// transitions) and then resumes from its last checkpoint once permits are
// granted. WAITING_QUOTA goes to ACQUIRING; ACQUIRING stays and asks again;
// WAITING_BACKOFF keeps waiting; PAUSED stays paused; IDLE and TERMINATED are
// left alone.
func RecoverProvider(s ProviderState) ProviderRecovery {
	switch s {
	case ProviderRunning:
		return ProviderRecovery{Action: Resume, Steps: []ProviderState{ProviderWaitingQuota, ProviderAcquiring}}
	case ProviderWaitingQuota:
		return ProviderRecovery{Action: Reacquire, Steps: []ProviderState{ProviderAcquiring}}
	case ProviderAcquiring:
		return ProviderRecovery{Action: Reacquire}
	case ProviderWaitingBackoff:
		return ProviderRecovery{Action: KeepWaiting}
	case ProviderPaused:
		return ProviderRecovery{Action: StayPaused}
	}
	return ProviderRecovery{Action: Leave}
}

// RecoverJob is the restart rule of contract §7 for a session whose persisted
// state is s: running resumes from its cursor (the state stays running),
// paused stays paused, queued may be started, terminal states are left.
func RecoverJob(s JobState) Action {
	switch s {
	case JobRunning:
		return Resume
	case JobPaused:
		return StayPaused
	case JobQueued:
		return Start
	}
	return Leave
}

// RecoverMacro returns the state a new process's Macro starts in. The macro
// FSM describes one process's life: whatever was persisted (DRAINING after a
// clean shutdown, anything after a crash), a restarted service bootstraps
// again, and saves that as a fresh record rather than as a transition.
func RecoverMacro(persisted MacroState) MacroState { return MacroBootstrapping }
