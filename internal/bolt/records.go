package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/urn"
)

// Session is one job session, with the fields of RPCGetSessionStatus.
type Session struct {
	ID              string          `json:"session_id"`
	State           fsm.JobState    `json:"state"`
	DataType        string          `json:"data_type"`
	StartIndex      int             `json:"start_index"`
	ResultsPerBatch int             `json:"results_per_batch"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	FetchedCount    int64           `json:"fetched_count"`
	StoredCount     int64           `json:"stored_count"`
	ErrorCount      int64           `json:"error_count"`
	ErrorMessage    string          `json:"error_message,omitempty"`
	Params          json.RawMessage `json:"params,omitempty"`   // the typed session's params, as given
	Progress        json.RawMessage `json:"progress,omitempty"` // resume cursor, owned by the job
}

// MacroRecord is the persisted state of the macro FSM.
type MacroRecord struct {
	ID        string         `json:"id"`
	State     fsm.MacroState `json:"state"`
	Reason    string         `json:"reason,omitempty"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// ProviderRecord is the persisted state of one provider FSM.
type ProviderRecord struct {
	ID             string            `json:"id"`   // cve, cwe, capec, attack
	Type           string            `json:"type"` // data type it moves
	State          fsm.ProviderState `json:"state"`
	ProcessedCount int64             `json:"processed_count"`
	ErrorCount     int64             `json:"error_count"`
	PermitsHeld    int               `json:"permits_held"`
	LastCheckpoint urn.URN           `json:"last_checkpoint"`
	LastError      string            `json:"last_error,omitempty"`
	Cursor         json.RawMessage   `json:"cursor,omitempty"` // progress to resume from, owned by the provider
	BackoffUntil   time.Time         `json:"backoff_until,omitzero"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// PutSession stores s under s.ID, setting UpdatedAt (and CreatedAt when
// zero) from the clock.
func (tx *Tx) PutSession(s *Session) error {
	if s.ID == "" {
		return fmt.Errorf("%w: session with empty session_id", ErrInvalid)
	}
	now := tx.now()
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	s.UpdatedAt = now
	return tx.putJSON(bucketSessions, []byte(s.ID), s)
}

// Session returns the session with id, or an error wrapping ErrNotFound.
func (tx *Tx) Session(id string) (Session, error) {
	var s Session
	err := tx.getJSON(bucketSessions, "session", id, &s)
	return s, err
}

// DeleteSession removes the session with id; a missing one is ErrNotFound.
func (tx *Tx) DeleteSession(id string) error {
	b := tx.tx.Bucket(bucketSessions)
	if b.Get([]byte(id)) == nil {
		return fmt.Errorf("%w: session %q", ErrNotFound, id)
	}
	return b.Delete([]byte(id))
}

// Sessions returns all sessions, ordered by id.
func (tx *Tx) Sessions() ([]Session, error) {
	var out []Session
	err := tx.tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
		var s Session
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("%w: session %q: %w", ErrCorrupt, k, err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// ActiveSession returns the session that is queued, running or paused, or
// an error wrapping ErrNotFound. There is at most one by policy; if the file
// holds several, the first by id is returned.
func (tx *Tx) ActiveSession() (Session, error) {
	all, err := tx.Sessions()
	if err != nil {
		return Session{}, err
	}
	for _, s := range all {
		if s.State.Active() {
			return s, nil
		}
	}
	return Session{}, fmt.Errorf("%w: no active session", ErrNotFound)
}

// PutMacro stores r under r.ID, setting UpdatedAt from the clock.
func (tx *Tx) PutMacro(r *MacroRecord) error {
	if r.ID == "" {
		return fmt.Errorf("%w: macro record with empty id", ErrInvalid)
	}
	r.UpdatedAt = tx.now()
	return tx.putJSON(bucketFSM, []byte(r.ID), r)
}

// Macro returns the macro record with id, or an error wrapping ErrNotFound.
func (tx *Tx) Macro(id string) (MacroRecord, error) {
	var r MacroRecord
	err := tx.getJSON(bucketFSM, "macro", id, &r)
	return r, err
}

// PutProvider stores r under r.ID, setting UpdatedAt from the clock.
func (tx *Tx) PutProvider(r *ProviderRecord) error {
	if err := checkProviderID(r.ID); err != nil {
		return err
	}
	if r.ProcessedCount < 0 || r.ErrorCount < 0 || r.PermitsHeld < 0 {
		return fmt.Errorf("%w: provider %q has a negative count", ErrInvalid, r.ID)
	}
	r.UpdatedAt = tx.now()
	return tx.putJSON(bucketProviders, []byte(r.ID), r)
}

// Provider returns the provider record with id, or an error wrapping
// ErrNotFound.
func (tx *Tx) Provider(id string) (ProviderRecord, error) {
	var r ProviderRecord
	err := tx.getJSON(bucketProviders, "provider", id, &r)
	return r, err
}

// Providers returns all provider records, ordered by id.
func (tx *Tx) Providers() ([]ProviderRecord, error) {
	var out []ProviderRecord
	err := tx.tx.Bucket(bucketProviders).ForEach(func(k, v []byte) error {
		var r ProviderRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: provider %q: %w", ErrCorrupt, k, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func checkProviderID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("%w: provider id %q (want 1 to 64 bytes)", ErrInvalid, id)
	}
	return nil
}

func (tx *Tx) putJSON(bucket, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bolt: encode %s %q: %w", bucket, key, err)
	}
	return tx.tx.Bucket(bucket).Put(key, b)
}

func (tx *Tx) getJSON(bucket []byte, kind, id string, v any) error {
	raw := tx.tx.Bucket(bucket).Get([]byte(id))
	if raw == nil {
		return fmt.Errorf("%w: %s %q", ErrNotFound, kind, id)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s %q: %w", ErrCorrupt, kind, id, err)
	}
	return nil
}
