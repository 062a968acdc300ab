// Package local holds the RPC handlers of the local service: it decodes
// params, calls the stores (internal/sqlite/...) and maps their errors to
// wire errors. It owns no storage itself.
package local

import (
	"errors"
	"fmt"

	"github.com/v2e/v2e/internal/cve"
	"github.com/v2e/v2e/internal/rpc"
)

// wireError maps a store error to an *rpc.Error: invalid input, not found,
// or internal.
func wireError(err error) error {
	if err == nil {
		return nil
	}
	var re *rpc.Error
	switch {
	case errors.As(err, &re):
		return err
	case errors.Is(err, cve.ErrInvalid):
		return &rpc.Error{Code: rpc.CodeInvalid, Message: err.Error()}
	case errors.Is(err, cve.ErrNotFound):
		return &rpc.Error{Code: rpc.CodeNotFound, Message: err.Error()}
	}
	for _, t := range notFoundErrs {
		if errors.Is(err, t) {
			return &rpc.Error{Code: rpc.CodeNotFound, Message: err.Error()}
		}
	}
	for _, t := range invalidErrs {
		if errors.Is(err, t) {
			return &rpc.Error{Code: rpc.CodeInvalid, Message: err.Error()}
		}
	}
	return &rpc.Error{Code: rpc.CodeInternal, Message: err.Error()}
}

// Sentinels of the catalog stores, registered by their handlers' files.
var notFoundErrs, invalidErrs []error

func invalidf(format string, args ...any) error {
	return &rpc.Error{Code: rpc.CodeInvalid, Message: "invalid params: " + fmt.Sprintf(format, args...)}
}
