package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/v2e/v2e/internal/latency"
	"github.com/v2e/v2e/internal/permit"
	"github.com/v2e/v2e/internal/queue"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

// master is the broker as resource authority (docs/broker-master.md): the
// permit pool, kernel metrics, the governor that revokes and restores
// permits, and the optional asynchronous router.
type master struct {
	pool *permit.Pool
	gov  *permit.Governor
	// all tracks every routed request over 10 s for RPCGetKernelMetrics.
	all *latency.Tracker
	// fast tracks, over 2 s, the requests that measure the platform rather
	// than the outside world or a bulk job: not to remote (NVD pacing), not
	// imports, not batch saves. The governor decides on its p99.
	fast  *latency.Tracker
	group *queue.Group // nil when broker.optimizer.enabled is false
}

// bulkPrefixes name methods that take long by design (a batch of 2,000 CVEs,
// a whole catalog): their latency says nothing about the platform's health.
var bulkPrefixes = []string{"RPCImport", "RPCForceImport", "RPCSaveCVEs", "RPCFetch", "RPCStart"}

// governedLatency reports whether a request counts for the governor.
func governedLatency(target, method string) bool {
	if target == "remote" {
		return false
	}
	for _, p := range bulkPrefixes {
		if strings.HasPrefix(method, p) {
			return false
		}
	}
	return true
}

func newMaster(b *Broker) (*master, error) {
	pc := b.cfg.Broker.Permits
	pool, err := permit.New(pc.Total)
	if err != nil {
		return nil, fmt.Errorf("broker.permits.total: %w", err)
	}
	gov, err := permit.NewGovernor(pool, permit.Policy{P99RevokeMs: pc.P99RevokeMS, SaturationRevoke: pc.BufferRevokeRatio}, time.Now)
	if err != nil {
		return nil, fmt.Errorf("broker.permits: %w", err)
	}
	all, err := latency.New(latency.Config{})
	if err != nil {
		return nil, err
	}
	fast, err := latency.New(latency.Config{Slices: 4, Slice: 500 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	m := &master{pool: pool, gov: gov, all: all, fast: fast}
	if oc := b.cfg.Broker.Optimizer; oc.Enabled {
		pol, err := queue.ParsePolicy(oc.Policy)
		if err != nil {
			return nil, fmt.Errorf("broker.optimizer.policy: %w", err)
		}
		m.group, err = queue.NewGroup(queue.Config{Buffer: oc.Buffer, Workers: oc.Workers, Batch: oc.Batch,
			Flush: time.Duration(oc.FlushMS) * time.Millisecond, Policy: pol})
		if err != nil {
			return nil, fmt.Errorf("broker.optimizer: %w", err)
		}
	}
	return m, nil
}

// addDestination gives process p a queue when the optimizer is on. The sink
// writes to p's current pipe, so it survives restarts.
func (m *master) addDestination(p *proc) {
	if m.group == nil || !p.cfg.RPC {
		return
	}
	_, _ = m.group.Add(p.cfg.ID, func(batch [][]byte) error {
		p.mu.Lock()
		out := p.out
		p.mu.Unlock()
		if out == nil {
			return fmt.Errorf("%w: %s", ErrNotRunning, p.cfg.ID)
		}
		for _, line := range batch {
			if err := out.w.Buffer(line); err != nil {
				return err
			}
		}
		return out.w.Flush()
	})
}

// observe records one answered request.
func (m *master) observe(target, method string, d time.Duration) {
	m.all.Observe(target, d)
	if governedLatency(target, method) {
		m.fast.Observe(target, d)
	}
}

// count records one routed message.
func (m *master) count(isErr bool) {
	m.all.Message()
	if isErr {
		m.all.Error()
	}
}

// KernelMetrics is the result of RPCGetKernelMetrics (contract §5) with
// added detail.
type KernelMetrics struct {
	P99LatencyMS     float64            `json:"p99_latency_ms"`
	P50LatencyMS     float64            `json:"p50_latency_ms"`
	GovernedP99MS    float64            `json:"governed_p99_latency_ms"`
	BufferSaturation float64            `json:"buffer_saturation"`
	ActiveWorkers    int                `json:"active_workers"`
	TotalPermits     int                `json:"total_permits"`
	AllocatedPermits int                `json:"allocated_permits"`
	AvailablePermits int                `json:"available_permits"`
	PermitLimit      int                `json:"permit_limit"`
	MessageRate      float64            `json:"message_rate"`
	ErrorRate        float64            `json:"error_rate"`
	ErrorRatio       float64            `json:"error_ratio"`
	TargetP99MS      map[string]float64 `json:"target_p99_ms"`
	Holdings         []permit.Holding   `json:"holdings"`
}

func (b *Broker) kernelMetrics() KernelMetrics {
	m := b.m
	snap := m.all.Snapshot()
	st := m.pool.Stats()
	k := KernelMetrics{
		P99LatencyMS: snap.Overall.P99Ms(), P50LatencyMS: snap.Overall.P50Ms(),
		GovernedP99MS:    m.fast.Snapshot().Overall.P99Ms(),
		BufferSaturation: b.saturation(),
		TotalPermits:     st.Total, AllocatedPermits: st.Allocated, AvailablePermits: st.Available, PermitLimit: st.Limit,
		MessageRate: snap.MessageRate, ErrorRate: snap.ErrorRate, ErrorRatio: snap.ErrorRatio,
		TargetP99MS: make(map[string]float64, len(snap.Targets)), Holdings: st.Holdings,
	}
	if k.Holdings == nil {
		k.Holdings = []permit.Holding{}
	}
	for t, s := range snap.Targets {
		k.TargetP99MS[t] = s.P99Ms()
	}
	if m.group != nil {
		k.ActiveWorkers = m.group.Busy()
	} else {
		k.ActiveWorkers = b.activeRequests()
	}
	return k
}

// saturation is how full the routing buffers are: the optimizer's fullest
// queue, or the fullest pipe writer's pending bytes against its bound.
func (b *Broker) saturation() float64 {
	if b.m.group != nil {
		return b.m.group.Saturation()
	}
	worst := 0.0
	for _, p := range b.order {
		p.mu.Lock()
		out := p.out
		p.mu.Unlock()
		if out != nil {
			worst = max(worst, out.w.Saturation())
		}
	}
	return worst
}

// activeRequests is the number of routed requests awaiting an answer.
func (b *Broker) activeRequests() int {
	b.pendMu.Lock()
	defer b.pendMu.Unlock()
	return len(b.pending)
}

type permitParams struct {
	ProviderID  string `json:"provider_id"`
	PermitCount int    `json:"permit_count"`
}

func decodePermits(params json.RawMessage) (permitParams, error) {
	p, err := service.Decode[permitParams](params)
	if err != nil {
		return p, err
	}
	if p.ProviderID == "" {
		return p, &rpc.Error{Code: rpc.CodeInvalid, Message: permit.ErrProviderRequired.Error()}
	}
	if p.PermitCount <= 0 {
		return p, &rpc.Error{Code: rpc.CodeInvalid, Message: permit.ErrCountNotPositive.Error()}
	}
	return p, nil
}

func (b *Broker) registerMaster() {
	b.Register(service.Method{Name: "RPCRequestPermits", Params: "{provider_id, permit_count}", Result: "{granted, available, provider_id}",
		Doc: "Asks the permit pool for permit_count permits for a provider of the calling service; grants min(asked, free), 0 is not an error."}, func(_ context.Context, from string, params json.RawMessage) (any, error) {
		p, err := decodePermits(params)
		if err != nil {
			return nil, err
		}
		granted, available, err := b.m.pool.Request(permit.Holder{Service: from, Provider: p.ProviderID}, p.PermitCount)
		if err != nil {
			return nil, &rpc.Error{Code: rpc.CodeInvalid, Message: err.Error()}
		}
		return map[string]any{"granted": granted, "available": available, "provider_id": p.ProviderID}, nil
	})
	b.Register(service.Method{Name: "RPCReleasePermits", Params: "{provider_id, permit_count}", Result: "{success, released, available, provider_id}",
		Doc: "Gives permits back; releasing more than held releases what is held."}, func(_ context.Context, from string, params json.RawMessage) (any, error) {
		p, err := decodePermits(params)
		if err != nil {
			return nil, err
		}
		released, available, err := b.m.pool.Release(permit.Holder{Service: from, Provider: p.ProviderID}, p.PermitCount)
		if err != nil {
			return nil, &rpc.Error{Code: rpc.CodeInvalid, Message: err.Error()}
		}
		return map[string]any{"success": true, "released": released, "available": available, "provider_id": p.ProviderID}, nil
	})
	b.Register(service.Method{Name: "RPCGetKernelMetrics",
		Result: "{p99_latency_ms, p50_latency_ms, governed_p99_latency_ms, buffer_saturation, active_workers, total_permits, allocated_permits, available_permits, permit_limit, message_rate, error_rate, error_ratio, target_p99_ms, holdings}",
		Doc:    "The resource master's view: routed latency over the last minute, optimizer saturation, the permit pool, rates; the governor lowers permit_limit when p99 or saturation run high."}, func(context.Context, string, json.RawMessage) (any, error) {
		return b.kernelMetrics(), nil
	})
	b.Register(service.Method{Name: "RPCGetPermitStats",
		Result: "{total_permits, limit, allocated_permits, available_permits, requests, grants, denials, permits_granted, releases, permits_released, revocations, permits_revoked, holdings:[{service, provider_id, permits}]}",
		Doc:    "The permit pool's counters and who holds what."}, func(context.Context, string, json.RawMessage) (any, error) {
		return b.m.pool.Stats(), nil
	})
	b.Register(service.Method{Name: "RPCResizePermits", Params: "{total}", Result: "the RPCGetPermitStats result",
		Doc: "Sets the pool size (at least 1); holders above the new size lose permits in proportion and get RPCOnQuotaUpdate."}, func(_ context.Context, _ string, params json.RawMessage) (any, error) {
		p, err := service.Decode[struct {
			Total int `json:"total"`
		}](params)
		if err != nil {
			return nil, err
		}
		if p.Total < 1 {
			return nil, &rpc.Error{Code: rpc.CodeInvalid, Message: "total must be at least 1"}
		}
		revoked, err := b.m.pool.Resize(p.Total)
		if err != nil {
			return nil, &rpc.Error{Code: rpc.CodeInvalid, Message: err.Error()}
		}
		for h, n := range revoked {
			b.quotaUpdate(h, n, fmt.Sprintf("pool resized to %d", p.Total))
		}
		return b.m.pool.Stats(), nil
	})
}

// govern runs the governor until ctx ends: one sample a second.
func (b *Broker) govern(ctx context.Context) {
	b.m.gov.Run(ctx, time.Second, func() permit.Sample {
		return permit.Sample{P99Ms: b.m.fast.Snapshot().Overall.P99Ms(), Saturation: b.saturation()}
	}, b.actOn)
}

// actOn tells the holders what a governor decision changed.
func (b *Broker) actOn(d permit.Decision) {
	switch d.Action {
	case permit.Revoke:
		b.log.Warn("permits revoked", "reason", d.Reason, "limit", d.Limit, "holders", len(d.Revoked))
		for h, n := range d.Revoked {
			b.quotaUpdate(h, n, d.Reason)
		}
	case permit.Restore:
		b.log.Info("permits restored", "reason", d.Reason, "limit", d.Limit)
		for _, h := range d.Notify {
			b.quotaUpdate(h, 0, d.Reason)
		}
	}
}

func (b *Broker) quotaUpdate(h permit.Holder, revoked int, reason string) {
	ev, err := rpc.NewEvent("RPCOnQuotaUpdate", h.Service, map[string]any{
		"revoked_permits": revoked, "reason": reason, "provider_id": h.Provider, "kernel_metrics": b.kernelMetrics(),
	})
	if err == nil {
		err = b.Send(h.Service, ev)
	}
	if err != nil {
		b.log.Debug("quota update not delivered", "to", h.Service, "err", err)
	}
}

// serviceGone returns the permits of a process that exited.
func (b *Broker) serviceGone(id string) {
	if freed := b.m.pool.ReleaseService(id); len(freed) > 0 {
		b.log.Info("permits of an exited process returned", "process", id, "holders", len(freed))
	}
	b.m.gov.Forget(id)
}
