package fsm

import (
	"time"

	"github.com/v2e/v2e/internal/urn"
)

// EventType is the kind of an event a provider bubbles up to the Macro.
type EventType uint8

// Provider event types. Their wire names are the lower-case words.
const (
	EventStarted      EventType = iota + 1 // IDLE → ACQUIRING
	EventCompleted                         // → TERMINATED without error
	EventFailed                            // → TERMINATED with an error
	EventPaused                            // → PAUSED
	EventResumed                           // PAUSED or WAITING_BACKOFF → ACQUIRING
	EventQuotaRevoked                      // RUNNING → WAITING_QUOTA
	EventQuotaGranted                      // ACQUIRING → RUNNING, WAITING_QUOTA → ACQUIRING
	EventRateLimited                       // RUNNING → WAITING_BACKOFF
	EventCheckpoint                        // a checkpoint was written; no state change
)

var eventNames = []string{"", "started", "completed", "failed", "paused", "resumed",
	"quota_revoked", "quota_granted", "rate_limited", "checkpoint"}

// String returns the wire name, e.g. "quota_revoked".
func (e EventType) String() string { return nameOf(eventNames, uint8(e)) }

// MarshalText returns the wire name.
func (e EventType) MarshalText() ([]byte, error) {
	if e == 0 {
		return nil, ErrUnknownState
	}
	return marshalName(eventNames, uint8(e), "event")
}

// UnmarshalText parses a wire name.
func (e *EventType) UnmarshalText(b []byte) error {
	i, err := parseName("event", eventNames[1:], string(b))
	if err != nil {
		return err
	}
	*e = EventType(i + 1)
	return nil
}

// Event is what a provider reports to the Macro.
type Event struct {
	Provider string        `json:"provider_id"`
	Type     EventType     `json:"type"`
	State    ProviderState `json:"state"` // provider state after the event
	URN      urn.URN       `json:"urn,omitzero"`
	Err      string        `json:"error,omitempty"`
	At       time.Time     `json:"at"`
}

// EventFor returns the event that a provider transition bubbles up.
func EventFor(t Transition[ProviderState]) Event {
	return Event{Provider: t.Machine, Type: eventType(t), State: t.To, URN: t.URN, Err: t.Err, At: t.At}
}

func eventType(t Transition[ProviderState]) EventType {
	switch t.To {
	case ProviderAcquiring:
		switch t.From {
		case ProviderIdle:
			return EventStarted
		case ProviderWaitingQuota:
			return EventQuotaGranted
		}
		return EventResumed
	case ProviderRunning:
		return EventQuotaGranted
	case ProviderWaitingQuota:
		return EventQuotaRevoked
	case ProviderWaitingBackoff:
		return EventRateLimited
	case ProviderPaused:
		return EventPaused
	case ProviderTerminated:
		if t.Err != "" {
			return EventFailed
		}
		return EventCompleted
	}
	return EventStarted
}
