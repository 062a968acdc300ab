package meta

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/v2e/v2e/internal/rpc"
)

// Caller sends a request to another process through the broker and decodes
// its result. *service.Service implements it.
type Caller interface {
	Call(ctx context.Context, target, method string, params, result any) error
}

// RawCaller is implemented by callers that can hand a result over as it
// came, undecoded (*service.Service). The CVE job uses it for pages, which
// run to megabytes; without it the result is taken through Call.
type RawCaller interface {
	CallRaw(ctx context.Context, target, method string, params any) (json.RawMessage, error)
}

// LentCaller is implemented by callers that can hand a large result over
// in a buffer they reuse once it is released (*service.Service). The CVE
// job uses it for pages, releasing each once it is stored and committed.
type LentCaller interface {
	CallLent(ctx context.Context, target, method string, params any) (json.RawMessage, func(), error)
}

// callLent calls method on target and returns its raw result and the
// function that gives the result's buffer back (a no-op without a
// LentCaller).
func (e *Engine) callLent(ctx context.Context, target, method string, params any) (json.RawMessage, func(), error) {
	if lc, ok := e.cfg.Caller.(LentCaller); ok {
		return lc.CallLent(ctx, target, method, params)
	}
	raw, err := e.callRaw(ctx, target, method, params)
	return raw, func() {}, err
}

// callRaw calls method on target and returns its raw result.
func (e *Engine) callRaw(ctx context.Context, target, method string, params any) (json.RawMessage, error) {
	if rc, ok := e.cfg.Caller.(RawCaller); ok {
		return rc.CallRaw(ctx, target, method, params)
	}
	var raw json.RawMessage
	err := e.cfg.Caller.Call(ctx, target, method, params, &raw)
	return raw, err
}

// Process ids the engine calls.
const (
	targetBroker = "broker"
	targetLocal  = "local"
	targetRemote = "remote"
)

// IsNoHandler reports whether err is the contract's answer to a method the
// target does not have ("no handler found for method: <name>").
func IsNoHandler(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no handler found for method")
}

// IsThrottle reports whether err from remote means NVD (or the path to it)
// is refusing us for now, so the provider should back off rather than fail:
// an rpc error with code "unavailable", or a text naming HTTP 429 or 403,
// a rate limit or throttling.
func IsThrottle(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, rpc.Unavailable) {
		return true
	}
	s := strings.ToLower(err.Error())
	for _, w := range []string{"429", "403", "rate limit", "rate-limit", "ratelimit", "rate_limit", "throttl"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// isTransient reports whether a failed run should wait and retry
// (WAITING_BACKOFF) rather than fail: throttling, a target that is down or
// restarting, or a call that timed out.
func isTransient(err error) bool {
	return IsThrottle(err) || errors.Is(err, rpc.Timeout) || errors.Is(err, rpc.ErrTimeout)
}
