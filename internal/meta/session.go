package meta

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/rpc"
)

// sessions holds the one current job session (contract §5): the active one,
// or the last one that ended by itself (completed, failed) until a new one
// starts or it is stopped. A session runs the provider of its data type; its
// state follows the provider's (see follow).
type sessions struct {
	e  *Engine
	mu sync.Mutex
	// cur is the current session, nil if none; m its machine.
	cur *bolt.Session
	m   *fsm.Machine[fsm.JobState]
}

// SessionParams are the params of RPCStartSession and RPCStartTypedSession.
type SessionParams struct {
	SessionID       string          `json:"session_id"`
	DataType        string          `json:"data_type"`
	StartIndex      int             `json:"start_index"`
	ResultsPerBatch int             `json:"results_per_batch"`
	Params          json.RawMessage `json:"params,omitempty"`
}

func (s *sessions) machine(sess *bolt.Session) *fsm.Machine[fsm.JobState] {
	return fsm.NewMachine(fsm.Config[fsm.JobState]{ID: sess.ID, Initial: sess.State, Logger: s.e.log, Now: s.e.cfg.Now})
}

// active returns a copy of the active session, or nil.
func (s *sessions) active() *bolt.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || !s.cur.State.Active() {
		return nil
	}
	c := *s.cur
	return &c
}

// start creates and runs a session.
func (s *sessions) start(p SessionParams) (bolt.Session, error) {
	if err := required("session_id", p.SessionID); err != nil {
		return bolt.Session{}, err
	}
	if p.DataType == "" {
		p.DataType = ProviderCVE
	}
	prov, err := s.e.provider(p.DataType)
	if err != nil {
		return bolt.Session{}, invalid("data_type %q is unknown (want cve, cwe, capec or attack)", p.DataType)
	}
	if p.StartIndex < 0 || p.ResultsPerBatch < 0 || p.ResultsPerBatch > 2000 {
		return bolt.Session{}, invalid("start_index must be >= 0 and results_per_batch between 1 and 2000")
	}
	// The provider's last run may have settled with its loop still in the
	// hooks of that transition, which take s.mu: let it return before the
	// new session exists, so that none of that run's transitions moves it.
	for {
		prov.quiesce()
		s.mu.Lock()
		if prov.settling() == nil {
			break
		}
		s.mu.Unlock() // another run settled meanwhile
	}
	if s.cur != nil && s.cur.State.Active() {
		id, st := s.cur.ID, s.cur.State
		s.mu.Unlock()
		return bolt.Session{}, conflict("session already exists: %q is %s", id, st)
	}
	if st := prov.state(); st.Active() || st == fsm.ProviderPaused {
		s.mu.Unlock()
		return bolt.Session{}, conflict("session already exists: provider %q is %s outside a session", p.DataType, st)
	}
	if s.cur != nil {
		if err := s.e.store.DeleteSession(s.cur.ID); err != nil && !errors.Is(err, bolt.ErrNotFound) {
			s.mu.Unlock()
			return bolt.Session{}, err
		}
	}
	rpb := p.ResultsPerBatch
	if rpb == 0 {
		rpb = s.e.cfg.PageSize
	}
	sess := &bolt.Session{ID: p.SessionID, State: fsm.JobQueued, DataType: p.DataType, StartIndex: p.StartIndex,
		ResultsPerBatch: rpb, Params: p.Params}
	if err := s.e.store.SaveSession(sess); err != nil {
		s.mu.Unlock()
		return bolt.Session{}, err
	}
	s.cur, s.m = sess, s.machine(sess)
	err = s.applyLocked(fsm.JobRunning, "started", nil)
	s.mu.Unlock()
	if err != nil {
		return bolt.Session{}, err
	}
	if err := prov.start(StartOptions{Full: true, StartIndex: p.StartIndex, PageSize: rpb}); err != nil {
		s.mu.Lock()
		_ = s.applyLocked(fsm.JobFailed, "provider did not start", err)
		s.mu.Unlock()
		return bolt.Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.cur, nil
}

// applyLocked moves the current session to `to`, persisting it with its
// latest counts. s.mu is held.
func (s *sessions) applyLocked(to fsm.JobState, reason string, cause error) error {
	sess := *s.cur
	s.fillCounts(&sess)
	if _, err := s.m.Apply(context.Background(), fsm.Change[fsm.JobState]{To: to, Reason: reason, Err: cause,
		Persist: s.e.store.PersistSession(sess)}); err != nil {
		return err
	}
	sess.State = to
	if cause != nil {
		sess.ErrorMessage = cause.Error()
	}
	sess.UpdatedAt = s.e.cfg.Now()
	*s.cur = sess
	return nil
}

// fillCounts copies the provider's live counts into sess.
func (s *sessions) fillCounts(sess *bolt.Session) {
	p, ok := s.e.providers[sess.DataType]
	if !ok {
		return
	}
	r := p.record()
	p.mu.Lock()
	fetched := p.fetched
	p.mu.Unlock()
	sess.StoredCount = max(0, r.ProcessedCount-r.ErrorCount) // records refused by local are counted in both
	sess.FetchedCount = max(sess.FetchedCount, fetched, r.ProcessedCount)
	sess.ErrorCount = r.ErrorCount
	if r.LastError != "" {
		sess.ErrorMessage = r.LastError
	}
	if pr, err := json.Marshal(p.progress()); err == nil {
		sess.Progress = pr
	}
}

// follow moves the session whose provider made transition t. It runs in
// the provider Machine's hook.
func (s *sessions) follow(t fsm.Transition[fsm.ProviderState]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.cur.DataType != t.Machine || !s.cur.State.Active() {
		return
	}
	var to fsm.JobState
	var cause error
	switch {
	case t.To == fsm.ProviderPaused:
		to = fsm.JobPaused
	case t.From == fsm.ProviderPaused && t.To == fsm.ProviderAcquiring:
		to = fsm.JobRunning
	case t.To == fsm.ProviderTerminated && t.Reason == reasonStopped:
		to = fsm.JobStopped
	case t.To == fsm.ProviderTerminated && t.Err != "":
		to, cause = fsm.JobFailed, errors.New(t.Err)
	case t.To == fsm.ProviderTerminated:
		to = fsm.JobCompleted
	default:
		return
	}
	if s.cur.State == to {
		return
	}
	if err := s.applyLocked(to, t.Reason, cause); err != nil {
		s.e.log.Error("session transition failed", "session", s.cur.ID, "err", err)
	}
}

// pause pauses the running session.
func (s *sessions) pause() error {
	p, err := s.current(fsm.JobRunning, "not running")
	if err != nil {
		return err
	}
	return p.pause()
}

// resume resumes the paused session.
func (s *sessions) resume() error {
	p, err := s.current(fsm.JobPaused, "not paused")
	if err != nil {
		return err
	}
	return p.resume()
}

// current returns the provider of the session when it is in state want,
// else a conflict error with text.
func (s *sessions) current(want fsm.JobState, text string) (*provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil, conflict("%s: no active session", text)
	}
	if s.cur.State != want {
		return nil, conflict("%s: session %q is %s", text, s.cur.ID, s.cur.State)
	}
	return s.e.providers[s.cur.DataType], nil
}

// stop stops the session's provider and forgets the session.
func (s *sessions) stop() (bolt.Session, error) {
	s.mu.Lock()
	if s.cur == nil {
		s.mu.Unlock()
		return bolt.Session{}, rpc.Errorf(rpc.CodeNotFound, "no active session")
	}
	active, p := s.cur.State.Active(), s.e.providers[s.cur.DataType]
	s.mu.Unlock()
	if active {
		if err := p.stop(); err != nil && p.state().Active() {
			return bolt.Session{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return bolt.Session{}, rpc.Errorf(rpc.CodeNotFound, "no active session")
	}
	if s.cur.State.Active() { // the provider had settled otherwise
		if err := s.applyLocked(fsm.JobStopped, reasonStopped, nil); err != nil {
			return bolt.Session{}, err
		}
	}
	sess := *s.cur
	s.fillCounts(&sess)
	if err := s.e.store.DeleteSession(sess.ID); err != nil && !errors.Is(err, bolt.ErrNotFound) {
		return bolt.Session{}, err
	}
	s.cur, s.m = nil, nil
	return sess, nil
}

// Status is the result of RPCGetSessionStatus.
type Status struct {
	HasSession      bool         `json:"has_session"`
	SessionID       string       `json:"session_id,omitempty"`
	State           fsm.JobState `json:"state,omitzero"`
	DataType        string       `json:"data_type,omitempty"`
	StartIndex      int          `json:"start_index"`
	ResultsPerBatch int          `json:"results_per_batch,omitempty"`
	CreatedAt       time.Time    `json:"created_at,omitzero"`
	UpdatedAt       time.Time    `json:"updated_at,omitzero"`
	FetchedCount    int64        `json:"fetched_count"`
	StoredCount     int64        `json:"stored_count"`
	ErrorCount      int64        `json:"error_count"`
	ErrorMessage    string       `json:"error_message,omitempty"`
	Progress        *Progress    `json:"progress,omitempty"`
}

// status returns the current session with live counts.
func (s *sessions) status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return Status{}
	}
	sess := *s.cur
	st := Status{HasSession: true, SessionID: sess.ID, State: sess.State, DataType: sess.DataType,
		StartIndex: sess.StartIndex, ResultsPerBatch: sess.ResultsPerBatch, CreatedAt: sess.CreatedAt,
		UpdatedAt: sess.UpdatedAt, FetchedCount: sess.FetchedCount, StoredCount: sess.StoredCount,
		ErrorCount: sess.ErrorCount, ErrorMessage: sess.ErrorMessage}
	if p, ok := s.e.providers[sess.DataType]; ok {
		if sess.State.Active() {
			s.fillCounts(&sess)
			st.FetchedCount, st.StoredCount, st.ErrorCount = sess.FetchedCount, sess.StoredCount, sess.ErrorCount
			if sess.ErrorMessage != "" {
				st.ErrorMessage = sess.ErrorMessage
			}
		}
		pr := p.progress()
		st.Progress = &pr
	}
	return st
}

// recover loads the current session after a restart (contract §7): a
// running one goes on with its provider (already recovered), a paused one
// stays paused; if the provider settled before the crash was recorded in
// the session, the session takes the provider's outcome.
func (s *sessions) recover() error {
	var all []bolt.Session
	if err := s.e.store.View(func(tx *bolt.Tx) error {
		var err error
		all, err = tx.Sessions()
		return err
	}); err != nil {
		return err
	}
	var cur *bolt.Session
	for i := range all {
		c := &all[i]
		if cur == nil || c.State.Active() && !cur.State.Active() ||
			c.State.Active() == cur.State.Active() && c.UpdatedAt.After(cur.UpdatedAt) {
			cur = c
		}
	}
	if cur == nil {
		return nil
	}
	restart, err := s.reconcile(cur)
	if err != nil || restart == nil {
		return err
	}
	// The session was running but its provider run had not started (or
	// was an older run) when meta stopped: start it now.
	s.e.log.Info("session recovered: starting its provider run", "session", cur.ID)
	if err := restart.start(StartOptions{Full: true, StartIndex: cur.StartIndex, PageSize: cur.ResultsPerBatch}); err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.applyLocked(fsm.JobFailed, "provider did not start", err)
	}
	return nil
}

// reconcile makes cur the current session and brings its state in line
// with its provider's. It returns the provider to start when the session
// was running but its run never began.
func (s *sessions) reconcile(cur *bolt.Session) (*provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur, s.m = cur, s.machine(cur)
	p, ok := s.e.providers[cur.DataType]
	if !ok || !cur.State.Active() {
		return nil, nil
	}
	ps := p.state()
	r := p.record()
	switch {
	case cur.State == fsm.JobQueued:
		return nil, s.applyLocked(fsm.JobStopped, "queued when meta stopped", nil)
	case cur.State == fsm.JobRunning && (ps == fsm.ProviderIdle || ps == fsm.ProviderTerminated && r.UpdatedAt.Before(cur.CreatedAt)):
		return p, nil
	case ps == fsm.ProviderTerminated:
		to, cause := fsm.JobCompleted, error(nil)
		if r.LastError != "" {
			to, cause = fsm.JobFailed, errors.New(r.LastError)
		}
		if cur.State == fsm.JobPaused {
			to = fsm.JobStopped
		}
		return nil, s.applyLocked(to, "provider settled before restart", cause)
	case ps == fsm.ProviderPaused && cur.State == fsm.JobRunning:
		return nil, s.applyLocked(fsm.JobPaused, "provider was paused", nil)
	}
	s.e.log.Info("session recovered", "session", cur.ID, "state", cur.State, "action", fsm.RecoverJob(cur.State), "provider_state", ps)
	return nil, nil
}
