package rpc

import (
	"errors"
	"fmt"
)

// Sentinel errors of the wire protocol.
var (
	// ErrTooLarge is returned by Reader.ReadLine for a line longer than the
	// maximum message size. The line has been skipped; the stream goes on.
	ErrTooLarge = errors.New("rpc: message too large")
	// ErrInvalidMessage is wrapped by every decoding and validation error.
	ErrInvalidMessage = errors.New("rpc: invalid message")
	// ErrClosed is returned by calls on a closed connection and by calls
	// whose connection closed before the answer came.
	ErrClosed = errors.New("rpc: connection closed")
	// ErrTimeout is returned by a call that got no answer in time.
	ErrTimeout = errors.New("rpc: timed out")
)

// Code classifies an error that crosses a process boundary. It travels in the
// message's optional "code" field beside the contract's "error" text.
type Code string

// Error codes.
const (
	CodeInvalid     Code = "invalid"     // bad params or payload
	CodeNotFound    Code = "not_found"   // unknown id
	CodeConflict    Code = "conflict"    // state does not allow it
	CodeUnavailable Code = "unavailable" // target down, unknown or gone
	CodeTimeout     Code = "timeout"     // no answer in time
	CodeInternal    Code = "internal"    // anything else
)

// Error is the one error type that crosses process boundaries: its Message is
// the wire "error" text and its Code the wire "code".
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is matches any *Error with the same code, so errors.Is(err, rpc.NotFound)
// works on errors decoded from the wire.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Code-only targets for errors.Is.
var (
	Invalid     = &Error{Code: CodeInvalid}
	NotFound    = &Error{Code: CodeNotFound}
	Conflict    = &Error{Code: CodeConflict}
	Unavailable = &Error{Code: CodeUnavailable}
	Timeout     = &Error{Code: CodeTimeout}
)

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NoHandler is the contract's error for an unknown method.
func NoHandler(method string) *Error {
	return &Error{Code: CodeNotFound, Message: "no handler found for method: " + method}
}

// FromMessage turns a wire error message into an *Error.
func FromMessage(m *Message) *Error {
	code := Code(m.Code)
	if code == "" {
		code = CodeInternal
	}
	return &Error{Code: code, Message: m.Error}
}
