package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/v2e/v2e/internal/rpc"
)

// Decode unmarshals params into a new T. Absent params give T's zero value.
// A payload that is not a JSON object, or a field of the wrong type, is an
// *rpc.Error with code "invalid" whose text names the field.
func Decode[T any](params json.RawMessage) (T, error) {
	var v T
	p := bytes.TrimSpace(params)
	if len(p) == 0 || string(p) == "null" {
		return v, nil
	}
	if p[0] != '{' {
		return v, rpc.Errorf(rpc.CodeInvalid, "invalid params: expected a JSON object")
	}
	if err := json.Unmarshal(p, &v); err != nil {
		return v, ParamsError(err)
	}
	return v, nil
}

// ParamsError turns a JSON decoding error into an *rpc.Error naming the field.
func ParamsError(err error) *rpc.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(top level)"
		}
		return rpc.Errorf(rpc.CodeInvalid, "invalid params: field %q: expected %s, got %s", field, te.Type, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return rpc.Errorf(rpc.CodeInvalid, "invalid params: malformed JSON at offset %d: %v", se.Offset, err)
	}
	return rpc.Errorf(rpc.CodeInvalid, "invalid params: %v", err)
}

// Required returns an invalid-params error naming field when value is empty.
func Required(field, value string) error {
	if value == "" {
		return rpc.Errorf(rpc.CodeInvalid, "invalid params: %s is required", field)
	}
	return nil
}

// Page is the offset/limit pair every list method takes (contract §5).
type Page struct {
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// Limits of list methods.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Normalize applies the contract's defaults and bounds: offset ≥ 0, limit
// defaults to 100, and a limit above 1000 or a negative offset is an error.
func (p Page) Normalize() (Page, error) {
	if p.Offset < 0 {
		return p, rpc.Errorf(rpc.CodeInvalid, "invalid params: offset must be ≥ 0, got %d", p.Offset)
	}
	if p.Limit < 0 || p.Limit > MaxLimit {
		return p, rpc.Errorf(rpc.CodeInvalid, "invalid params: limit must be between 1 and %d, got %d", MaxLimit, p.Limit)
	}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	return p, nil
}

// Errorf is shorthand for an invalid-params error.
func Errorf(format string, args ...any) error {
	return &rpc.Error{Code: rpc.CodeInvalid, Message: "invalid params: " + fmt.Sprintf(format, args...)}
}
