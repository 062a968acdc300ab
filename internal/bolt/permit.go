package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// PermitKind says what happened to permits.
type PermitKind string

// Permit event kinds.
const (
	PermitGranted  PermitKind = "granted"
	PermitReleased PermitKind = "released"
	PermitRevoked  PermitKind = "revoked"
)

// PermitEvent is one entry of the permit allocation history.
type PermitEvent struct {
	Seq        uint64     `json:"seq"`
	ProviderID string     `json:"provider_id"`
	Kind       PermitKind `json:"kind"`
	Count      int        `json:"count"`
	Reason     string     `json:"reason,omitempty"`
	At         time.Time  `json:"at"`
}

// AppendPermitEvent appends e to the history and returns it with Seq set
// and At set from the clock when zero.
func (tx *Tx) AppendPermitEvent(e PermitEvent) (PermitEvent, error) {
	if err := checkProviderID(e.ProviderID); err != nil {
		return e, err
	}
	switch e.Kind {
	case PermitGranted, PermitReleased, PermitRevoked:
	default:
		return e, fmt.Errorf("%w: permit event kind %q (want granted, released or revoked)", ErrInvalid, e.Kind)
	}
	if e.Count < 0 {
		return e, fmt.Errorf("%w: permit event count %d is negative", ErrInvalid, e.Count)
	}
	if e.At.IsZero() {
		e.At = tx.now()
	}
	b := tx.tx.Bucket(bucketPermits)
	seq, err := b.NextSequence()
	if err != nil {
		return e, err
	}
	e.Seq = seq
	return e, tx.putJSON(bucketPermits, binary.BigEndian.AppendUint64(nil, seq), e)
}

// PermitEvents returns up to limit permit events, newest first, of provider
// ("" for all); limit <= 0 means all.
func (tx *Tx) PermitEvents(provider string, limit int) ([]PermitEvent, error) {
	var out []PermitEvent
	c := tx.tx.Bucket(bucketPermits).Cursor()
	for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
		var e PermitEvent
		if err := json.Unmarshal(v, &e); err != nil {
			return out, fmt.Errorf("%w: permit event %x: %w", ErrCorrupt, k, err)
		}
		if provider == "" || e.ProviderID == provider {
			out = append(out, e)
		}
	}
	return out, nil
}
