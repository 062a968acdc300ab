package permit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// ErrPolicy is wrapped by NewGovernor when a Policy field is out of range;
// the message names the field.
var ErrPolicy = errors.New("permit: invalid governor policy")

// Policy tunes the Governor. Zero fields take the defaults listed.
type Policy struct {
	// P99RevokeMs: a sample with p99 latency above it is unhealthy
	// (broker.permits.p99_revoke_ms, default 30).
	P99RevokeMs float64
	// SaturationRevoke: a sample with buffer saturation above it is unhealthy
	// (broker.permits.buffer_revoke_ratio, default 0.8).
	SaturationRevoke float64
	// P99RestoreMs and SaturationRestore: a sample is healthy only when both
	// values are at or below these (defaults: half the revoke thresholds).
	// Between the two pairs of thresholds the Governor holds still: that band
	// is the hysteresis that keeps it from flapping.
	P99RestoreMs      float64
	SaturationRestore float64
	// RevokeFraction of the permits in use is revoked per revocation (default 0.25).
	RevokeFraction float64
	// Cooldown is the least time between two revocations (default 2s), so a
	// burst of bad samples revokes once per Cooldown, not once per sample.
	Cooldown time.Duration
	// HealthySamples consecutive healthy samples are needed for each restore
	// step (default 3).
	HealthySamples int
	// RestoreStep permits of capacity come back per step (default
	// max(1, Total/4), computed at each step).
	RestoreStep int
	// MinLimit is the capacity the Governor never goes below (default 1), so
	// ETL keeps making progress under load.
	MinLimit int
}

func (p Policy) withDefaults() Policy {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.P99RevokeMs, 30)
	def(&p.SaturationRevoke, 0.8)
	def(&p.P99RestoreMs, p.P99RevokeMs/2)
	def(&p.SaturationRestore, p.SaturationRevoke/2)
	def(&p.RevokeFraction, 0.25)
	if p.Cooldown == 0 {
		p.Cooldown = 2 * time.Second
	}
	if p.HealthySamples == 0 {
		p.HealthySamples = 3
	}
	if p.MinLimit == 0 {
		p.MinLimit = 1
	}
	return p
}

// Validate reports the first out-of-range field of a defaulted policy.
func (p Policy) Validate() error {
	p = p.withDefaults()
	switch {
	case p.P99RevokeMs < 0 || p.P99RestoreMs < 0:
		return fmt.Errorf("%w: P99RevokeMs %v / P99RestoreMs %v must not be negative", ErrPolicy, p.P99RevokeMs, p.P99RestoreMs)
	case p.P99RestoreMs > p.P99RevokeMs:
		return fmt.Errorf("%w: P99RestoreMs %v above P99RevokeMs %v", ErrPolicy, p.P99RestoreMs, p.P99RevokeMs)
	case p.SaturationRevoke < 0 || p.SaturationRestore < 0 || p.SaturationRestore > p.SaturationRevoke:
		return fmt.Errorf("%w: SaturationRestore %v must be in [0, SaturationRevoke %v]", ErrPolicy, p.SaturationRestore, p.SaturationRevoke)
	case p.RevokeFraction < 0 || p.RevokeFraction > 1:
		return fmt.Errorf("%w: RevokeFraction %v not in (0, 1]", ErrPolicy, p.RevokeFraction)
	case p.Cooldown < 0 || p.HealthySamples < 0 || p.RestoreStep < 0 || p.MinLimit < 0:
		return fmt.Errorf("%w: Cooldown, HealthySamples, RestoreStep and MinLimit must not be negative", ErrPolicy)
	}
	return nil
}

// Sample is one reading of the kernel metrics the Governor reacts to.
type Sample struct {
	P99Ms      float64 // p99 routed request→response latency over the window, ms
	Saturation float64 // fullest routing buffer, len/cap in [0, 1]
}

// Action is what one Observe did.
type Action int

// Actions of Observe.
const (
	Steady  Action = iota // healthy or in the hysteresis band; nothing changed
	Revoke                // unhealthy: capacity lowered, permits revoked
	Hold                  // unhealthy but within Cooldown of the last revocation
	Restore               // healthy long enough: capacity raised one step
)

func (a Action) String() string {
	switch a {
	case Steady:
		return "steady"
	case Revoke:
		return "revoke"
	case Hold:
		return "hold"
	case Restore:
		return "restore"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Decision is the outcome of one Observe. On Revoke the broker sends
// RPCOnQuotaUpdate {revoked_permits: Revoked[h], reason: Reason,
// kernel_metrics} to each h.Service. On Restore, Notify lists the holders
// that lost permits since capacity was last full, so the broker can tell
// them (revoked_permits 0) that they may ask again.
type Decision struct {
	Action  Action
	Reason  string
	Limit   int            // capacity after the decision
	Revoked map[Holder]int // Revoke only
	Notify  []Holder       // Restore only, sorted
}

// Governor lowers and restores a Pool's capacity from kernel-metrics samples.
// It is safe for concurrent use; its mutex is taken before the Pool's.
type Governor struct {
	pool *Pool
	pol  Policy
	now  func() time.Time

	mu          sync.Mutex
	lastRevoke  time.Time
	healthy     int             // consecutive healthy samples
	revokedFrom map[Holder]bool // holders revoked since capacity was last full
}

// NewGovernor returns a Governor over pool. now is the clock (time.Now in
// production). Errors wrap ErrPolicy.
func NewGovernor(pool *Pool, pol Policy, now func() time.Time) (*Governor, error) {
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Governor{pool: pool, pol: pol.withDefaults(), now: now, revokedFrom: make(map[Holder]bool)}, nil
}

// Policy returns the policy in force, defaults filled in.
func (g *Governor) Policy() Policy { return g.pol }

// Forget drops service's holders from the set a later Restore notifies (the
// service died; call it next to Pool.ReleaseService).
func (g *Governor) Forget(service string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for h := range g.revokedFrom {
		if h.Service == service {
			delete(g.revokedFrom, h)
		}
	}
}

// Run calls sample every interval, feeds the result to Observe and passes
// each decision other than Steady to act, until ctx ends. It blocks: the
// caller owns the goroutine it runs in. sample and act run on that
// goroutine; act may send RPCOnQuotaUpdate events.
func (g *Governor) Run(ctx context.Context, every time.Duration, sample func() Sample, act func(Decision)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if d := g.Observe(sample()); d.Action != Steady {
				act(d)
			}
		}
	}
}

// Observe feeds one sample (the broker takes one per tick, e.g. every
// second) and applies the resulting decision to the pool.
func (g *Governor) Observe(s Sample) Decision {
	g.mu.Lock()
	defer g.mu.Unlock()
	if why, bad := g.unhealthy(s); bad {
		g.healthy = 0
		return g.revoke(why)
	}
	if s.P99Ms > g.pol.P99RestoreMs || s.Saturation > g.pol.SaturationRestore {
		g.healthy = 0 // hysteresis band: neither revoke nor count towards restoring
		return Decision{Action: Steady, Limit: g.limit()}
	}
	g.healthy++
	if g.healthy < g.pol.HealthySamples {
		return Decision{Action: Steady, Limit: g.limit()}
	}
	return g.restore()
}

func (g *Governor) unhealthy(s Sample) (string, bool) {
	if s.P99Ms > g.pol.P99RevokeMs {
		return fmt.Sprintf("p99_latency_ms %.1f > %g", s.P99Ms, g.pol.P99RevokeMs), true
	}
	if s.Saturation > g.pol.SaturationRevoke {
		return fmt.Sprintf("buffer_saturation %.2f > %g", s.Saturation, g.pol.SaturationRevoke), true
	}
	return "", false
}

func (g *Governor) limit() int {
	g.pool.mu.Lock()
	defer g.pool.mu.Unlock()
	return g.pool.limit
}

// revoke lowers the limit to (in use, or the limit when nothing is in use)
// less RevokeFraction of it, rounded up, but not below MinLimit.
func (g *Governor) revoke(why string) Decision {
	now := g.now()
	if !g.lastRevoke.IsZero() && now.Sub(g.lastRevoke) < g.pol.Cooldown {
		return Decision{Action: Hold, Reason: why, Limit: g.limit()}
	}
	g.lastRevoke = now
	st := g.pool.Stats()
	base := st.Limit
	if st.Allocated > 0 {
		base = min(st.Limit, st.Allocated)
	}
	cut := int(math.Ceil(float64(base) * g.pol.RevokeFraction))
	limit := max(min(g.pol.MinLimit, st.Limit), base-cut)
	rev := g.pool.SetLimit(limit)
	for h := range rev {
		g.revokedFrom[h] = true
	}
	if len(rev) == 0 && limit == st.Limit {
		return Decision{Action: Hold, Reason: why, Limit: limit} // already at the floor
	}
	return Decision{Action: Revoke, Reason: why, Limit: limit, Revoked: rev}
}

func (g *Governor) restore() Decision {
	g.healthy = 0
	st := g.pool.Stats()
	if st.Limit >= st.Total {
		return Decision{Action: Steady, Limit: st.Limit}
	}
	step := g.pol.RestoreStep
	if step == 0 {
		step = max(1, st.Total/4)
	}
	limit := min(st.Total, st.Limit+step)
	g.pool.SetLimit(limit)
	notify := make([]Holder, 0, len(g.revokedFrom))
	for h := range g.revokedFrom {
		notify = append(notify, h)
	}
	sort.Slice(notify, func(i, j int) bool { return less(notify[i], notify[j]) })
	if limit >= st.Total {
		clear(g.revokedFrom)
	}
	reason := fmt.Sprintf("restored: healthy for %d samples, limit %d of %d", g.pol.HealthySamples, limit, st.Total)
	return Decision{Action: Restore, Reason: reason, Limit: limit, Notify: notify}
}
