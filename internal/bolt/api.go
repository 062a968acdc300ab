package bolt

import (
	"context"
	"fmt"
	"time"

	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/urn"
)

// The methods below each run one transaction; use Update to combine writes.

// SaveSession stores s (see Tx.PutSession).
func (s *Store) SaveSession(sess *Session) error {
	return s.Update(func(tx *Tx) error { return tx.PutSession(sess) })
}

// LoadSession returns the session with id, or an error wrapping ErrNotFound.
func (s *Store) LoadSession(id string) (sess Session, err error) {
	err = s.View(func(tx *Tx) error { sess, err = tx.Session(id); return err })
	return sess, err
}

// DeleteSession removes the session with id, or returns ErrNotFound.
func (s *Store) DeleteSession(id string) error {
	return s.Update(func(tx *Tx) error { return tx.DeleteSession(id) })
}

// ActiveSession returns the queued, running or paused session, or an error
// wrapping ErrNotFound.
func (s *Store) ActiveSession() (sess Session, err error) {
	err = s.View(func(tx *Tx) error { sess, err = tx.ActiveSession(); return err })
	return sess, err
}

// SaveMacro stores r (see Tx.PutMacro).
func (s *Store) SaveMacro(r *MacroRecord) error {
	return s.Update(func(tx *Tx) error { return tx.PutMacro(r) })
}

// LoadMacro returns the macro record with id, or an error wrapping ErrNotFound.
func (s *Store) LoadMacro(id string) (r MacroRecord, err error) {
	err = s.View(func(tx *Tx) error { r, err = tx.Macro(id); return err })
	return r, err
}

// SaveProvider stores r (see Tx.PutProvider).
func (s *Store) SaveProvider(r *ProviderRecord) error {
	return s.Update(func(tx *Tx) error { return tx.PutProvider(r) })
}

// LoadProvider returns the provider record with id, or an error wrapping
// ErrNotFound.
func (s *Store) LoadProvider(id string) (r ProviderRecord, err error) {
	err = s.View(func(tx *Tx) error { r, err = tx.Provider(id); return err })
	return r, err
}

// ListProviders returns all provider records, ordered by id.
func (s *Store) ListProviders() (rs []ProviderRecord, err error) {
	err = s.View(func(tx *Tx) error { rs, err = tx.Providers(); return err })
	return rs, err
}

// AddCheckpoint appends a checkpoint of u for provider; a zero at means now.
func (s *Store) AddCheckpoint(u urn.URN, provider string, success bool, errMsg string, at time.Time) (c Checkpoint, err error) {
	c = Checkpoint{URN: u, ProviderID: provider, Success: success, ErrorMessage: errMsg, ProcessedAt: at}
	err = s.Update(func(tx *Tx) error { c, err = tx.AddCheckpoint(c); return err })
	return c, err
}

// ListCheckpoints returns up to limit checkpoints of provider, newest first
// (limit <= 0: all), and how many there are in all (successful ones only
// with successOnly), from one snapshot.
func (s *Store) ListCheckpoints(provider string, limit int, successOnly bool) (cs []Checkpoint, total int, err error) {
	err = s.View(func(tx *Tx) error {
		all, ok, err := tx.CheckpointCount(provider)
		if total = all; successOnly {
			total = ok
		}
		if err != nil {
			return err
		}
		cs, err = tx.Checkpoints(provider, limit, successOnly)
		return err
	})
	return cs, total, err
}

// CountCheckpoints returns provider's checkpoint counts, all and successful.
func (s *Store) CountCheckpoints(provider string) (total, succeeded int, err error) {
	err = s.View(func(tx *Tx) error { total, succeeded, err = tx.CheckpointCount(provider); return err })
	return total, succeeded, err
}

// TotalCheckpoints returns the number of checkpoints of all providers.
func (s *Store) TotalCheckpoints() (n int, err error) {
	err = s.View(func(tx *Tx) error { n, err = tx.TotalCheckpoints(); return err })
	return n, err
}

// LatestCheckpoint returns provider's newest checkpoint of u, or an error
// wrapping ErrNotFound.
func (s *Store) LatestCheckpoint(provider string, u urn.URN) (c Checkpoint, err error) {
	err = s.View(func(tx *Tx) error { c, err = tx.LatestCheckpoint(provider, u); return err })
	return c, err
}

// AppendPermitEvent appends e to the permit history (see Tx.AppendPermitEvent).
func (s *Store) AppendPermitEvent(e PermitEvent) (out PermitEvent, err error) {
	err = s.Update(func(tx *Tx) error { out, err = tx.AppendPermitEvent(e); return err })
	return out, err
}

// ListPermitEvents returns up to limit permit events of provider ("" for
// all), newest first.
func (s *Store) ListPermitEvents(provider string, limit int) (es []PermitEvent, err error) {
	err = s.View(func(tx *Tx) error { es, err = tx.PermitEvents(provider, limit); return err })
	return es, err
}

// CommitProgress is the ingest hot path: in one transaction it appends cp
// and stores rec with LastCheckpoint set to cp.URN (the caller updates
// counters and Cursor first). It returns the stored checkpoint.
func (s *Store) CommitProgress(rec *ProviderRecord, cp Checkpoint) (out Checkpoint, err error) {
	if cp.ProviderID == "" {
		cp.ProviderID = rec.ID
	}
	if cp.ProviderID != rec.ID {
		return cp, fmt.Errorf("%w: checkpoint of %q with record of %q", ErrInvalid, cp.ProviderID, rec.ID)
	}
	err = s.Update(func(tx *Tx) error {
		if out, err = tx.AddCheckpoint(cp); err != nil {
			return err
		}
		rec.LastCheckpoint = out.URN
		return tx.PutProvider(rec)
	})
	return out, err
}

// MacroPersister returns an fsm persister that stores each macro transition
// as the MacroRecord of its machine.
func (s *Store) MacroPersister() fsm.PersistFunc[fsm.MacroState] {
	return func(ctx context.Context, t fsm.Transition[fsm.MacroState]) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.SaveMacro(&MacroRecord{ID: t.Machine, State: t.To, Reason: t.Reason})
	}
}

// PersistSession returns an fsm persister for one change of a session: it
// stores sess with State set to the transition's target (and ErrorMessage to
// its error, if any) in one transaction.
func (s *Store) PersistSession(sess Session) fsm.PersistFunc[fsm.JobState] {
	return func(ctx context.Context, t fsm.Transition[fsm.JobState]) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if sess.ID != t.Machine {
			return fmt.Errorf("%w: session record %q for machine %q", ErrInvalid, sess.ID, t.Machine)
		}
		sess.State = t.To
		if t.Err != "" {
			sess.ErrorMessage = t.Err
		}
		return s.SaveSession(&sess)
	}
}

// PersistProvider returns an fsm persister for one change of a provider: in
// one transaction it appends cp (when not nil) and stores rec with State set
// to the transition's target, LastCheckpoint to cp's URN and LastError to
// the transition's error. This is how "a transition is persisted with the
// data it guards".
func (s *Store) PersistProvider(rec ProviderRecord, cp *Checkpoint) fsm.PersistFunc[fsm.ProviderState] {
	return func(ctx context.Context, t fsm.Transition[fsm.ProviderState]) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if rec.ID != t.Machine {
			return fmt.Errorf("%w: provider record %q for machine %q", ErrInvalid, rec.ID, t.Machine)
		}
		rec.State, rec.LastError = t.To, t.Err
		return s.Update(func(tx *Tx) error {
			if cp != nil {
				c := *cp
				c.ProviderID = rec.ID
				out, err := tx.AddCheckpoint(c)
				if err != nil {
					return err
				}
				rec.LastCheckpoint = out.URN
			}
			return tx.PutProvider(&rec)
		})
	}
}
