// Package rpc is the wire protocol between the broker and the services.
//
// A message is one JSON object on one line (contract §2): type, id (the
// method or event name), payload, error, source, target and correlation_id.
// This package encodes and decodes messages without reflection on the hot
// path, frames them by newline with a maximum size (an oversize line is
// skipped and reported, and the stream goes on), and provides Conn, which
// matches responses to the requests sent over it by correlation id.
package rpc

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Type is the kind of a message.
type Type string

// The four message types of the contract.
const (
	TypeRequest  Type = "request"
	TypeResponse Type = "response"
	TypeEvent    Type = "event"
	TypeError    Type = "error"
)

// Valid reports whether t is one of the four message types.
func (t Type) Valid() bool {
	switch t {
	case TypeRequest, TypeResponse, TypeEvent, TypeError:
		return true
	}
	return false
}

// Well-known ids and targets.
const (
	// BrokerID is the target that addresses the broker itself.
	BrokerID = "broker"
	// EventReady is the first message every service sends.
	EventReady = "subprocess_ready"
)

// Message is one wire message. Payload holds raw JSON (a request's params, a
// response's result or an event's body); it is nil when absent.
type Message struct {
	Type          Type            `json:"type"`
	ID            string          `json:"id"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	Error         string          `json:"error,omitempty"`
	Code          string          `json:"code,omitempty"`
	Source        string          `json:"source,omitempty"`
	Target        string          `json:"target,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`

	lent []byte // the buffer Payload was lent in (Conn.LendPayloads), until Conn.Release
}

// Reset clears m for reuse, keeping the payload's capacity.
func (m *Message) Reset() {
	p := m.Payload[:0]
	*m = Message{Payload: p}
}

// Validate checks the fields every message must have.
func (m *Message) Validate() error {
	if !m.Type.Valid() {
		return fmt.Errorf("%w: type %q is not request, response, event or error", ErrInvalidMessage, m.Type)
	}
	if m.ID == "" {
		return fmt.Errorf("%w: id is empty", ErrInvalidMessage)
	}
	if m.Type == TypeError && m.Error == "" {
		return fmt.Errorf("%w: error message without error text", ErrInvalidMessage)
	}
	return nil
}

// NewRequest returns a request for method with params marshalled as its payload.
func NewRequest(method, target, correlationID string, params any) (*Message, error) {
	p, err := marshalPayload(params)
	if err != nil {
		return nil, fmt.Errorf("rpc: request %s: params: %w", method, err)
	}
	return &Message{Type: TypeRequest, ID: method, Target: target, CorrelationID: correlationID, Payload: p}, nil
}

// NewEvent returns an event named id with body marshalled as its payload.
func NewEvent(id, target string, body any) (*Message, error) {
	p, err := marshalPayload(body)
	if err != nil {
		return nil, fmt.Errorf("rpc: event %s: body: %w", id, err)
	}
	return &Message{Type: TypeEvent, ID: id, Target: target, Payload: p}, nil
}

// ResponseTo returns the response to req carrying result.
func ResponseTo(req *Message, result any) (*Message, error) {
	p, err := marshalPayload(result)
	if err != nil {
		return nil, fmt.Errorf("rpc: response to %s: result: %w", req.ID, err)
	}
	return &Message{Type: TypeResponse, ID: req.ID, Target: req.Source, CorrelationID: req.CorrelationID, Payload: p}, nil
}

// ErrorTo returns the error message answering req with err. An *Error keeps
// its code on the wire.
func ErrorTo(req *Message, err error) *Message {
	m := &Message{Type: TypeError, ID: req.ID, Target: req.Source, CorrelationID: req.CorrelationID, Error: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		m.Code = string(e.Code)
	}
	if m.Error == "" {
		m.Error = "unknown error"
	}
	return m
}

func marshalPayload(v any) (json.RawMessage, error) {
	switch p := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return p, nil
	case []byte:
		return json.RawMessage(p), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}
