package meta

import (
	"context"
	"log/slog"
	"sync"

	"github.com/v2e/v2e/internal/bolt"
)

// permitClient asks the broker for worker permits and gives them back.
// A broker without RPCRequestPermits means permits are not enforced: the
// provider then runs with one worker, and this is logged once.
type permitClient struct {
	c      Caller
	store  *bolt.Store
	log    *slog.Logger
	once   sync.Once
	absent bool // last request met "no handler found"
	mu     sync.Mutex
}

type permitRequest struct {
	ProviderID  string `json:"provider_id"`
	PermitCount int    `json:"permit_count"`
}

type permitGrant struct {
	Granted    int    `json:"granted"`
	Available  int    `json:"available"`
	ProviderID string `json:"provider_id"`
}

// request asks for n permits for provider. It returns how many were granted
// and whether the broker enforces permits at all.
func (pc *permitClient) request(ctx context.Context, provider string, n int) (granted int, enforced bool, err error) {
	var g permitGrant
	err = pc.c.Call(ctx, targetBroker, "RPCRequestPermits", permitRequest{provider, n}, &g)
	if IsNoHandler(err) {
		pc.once.Do(func() {
			pc.log.Warn("broker has no RPCRequestPermits: permits not enforced, providers run with 1 worker", "err", err)
		})
		pc.setAbsent(true)
		return 1, false, nil
	}
	if err != nil {
		return 0, true, err
	}
	pc.setAbsent(false)
	if g.Granted > 0 {
		pc.record(provider, bolt.PermitGranted, g.Granted, "")
	}
	return g.Granted, true, nil
}

// release gives n permits of provider back to the broker.
func (pc *permitClient) release(ctx context.Context, provider string, n int) {
	if n <= 0 || pc.isAbsent() {
		return
	}
	err := pc.c.Call(ctx, targetBroker, "RPCReleasePermits", permitRequest{provider, n}, nil)
	if err != nil && !IsNoHandler(err) {
		pc.log.Warn("cannot release permits", "provider", provider, "count", n, "err", err)
		return
	}
	pc.record(provider, bolt.PermitReleased, n, "")
}

func (pc *permitClient) record(provider string, kind bolt.PermitKind, n int, reason string) {
	if _, err := pc.store.AppendPermitEvent(bolt.PermitEvent{ProviderID: provider, Kind: kind, Count: n, Reason: reason}); err != nil {
		pc.log.Warn("cannot record permit event", "provider", provider, "kind", kind, "err", err)
	}
}

func (pc *permitClient) setAbsent(v bool) {
	pc.mu.Lock()
	pc.absent = v
	pc.mu.Unlock()
}

func (pc *permitClient) isAbsent() bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.absent
}
