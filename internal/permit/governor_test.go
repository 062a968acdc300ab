package permit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// clock is a manual clock for the Governor.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newGov(t *testing.T, total int, pol Policy) (*Pool, *Governor, *clock) {
	t.Helper()
	p := mustPool(t, total)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	g, err := NewGovernor(p, pol, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return p, g, c
}

var (
	good = Sample{P99Ms: 5, Saturation: 0.1}
	band = Sample{P99Ms: 20, Saturation: 0.1} // between restore (15) and revoke (30)
	slow = Sample{P99Ms: 45, Saturation: 0.1}
	full = Sample{P99Ms: 5, Saturation: 0.95}
)

func TestGovernorRevokesProportionally(t *testing.T) {
	p, g, _ := newGov(t, 10, Policy{})
	p.Request(cve, 6)
	p.Request(cwe, 2)
	d := g.Observe(slow)
	// 8 in use, 25% -> cut 2, limit 6: cve loses 1.5 -> 2 (tie, larger), cwe 0.5 -> 0
	if d.Action != Revoke || d.Limit != 6 || d.Revoked[cve]+d.Revoked[cwe] != 2 {
		t.Fatalf("decision %+v", d)
	}
	if d.Revoked[cve] != 2 {
		t.Fatalf("revoked %v, want cve 2", d.Revoked)
	}
	if !strings.Contains(d.Reason, "p99_latency_ms 45.0 > 30") {
		t.Fatalf("reason %q", d.Reason)
	}
	if g, _, _ := p.Request(meta("capec"), 5); g != 0 {
		t.Fatalf("request after revoke granted %d, want 0 (limit lowered)", g)
	}
}

func TestGovernorSaturationTrigger(t *testing.T) {
	p, g, _ := newGov(t, 10, Policy{})
	p.Request(cve, 4)
	d := g.Observe(full)
	if d.Action != Revoke || d.Revoked[cve] != 1 || !strings.Contains(d.Reason, "buffer_saturation 0.95 > 0.8") {
		t.Fatalf("decision %+v", d)
	}
}

func TestGovernorCooldownAndFloor(t *testing.T) {
	p, g, c := newGov(t, 8, Policy{Cooldown: time.Second})
	p.Request(cve, 8)
	if d := g.Observe(slow); d.Action != Revoke || d.Limit != 6 {
		t.Fatalf("first %+v", d)
	}
	c.advance(500 * time.Millisecond)
	if d := g.Observe(slow); d.Action != Hold || d.Limit != 6 {
		t.Fatalf("within cooldown %+v", d)
	}
	wantLimits := []int{4, 3, 2, 1, 1}
	for i, want := range wantLimits {
		c.advance(time.Second)
		d := g.Observe(slow)
		if d.Limit != want {
			t.Fatalf("step %d limit %d, want %d (%+v)", i, d.Limit, want, d)
		}
	}
	if d := g.Observe(slow); d.Action != Hold {
		t.Fatalf("at floor: %+v, want hold", d)
	}
	if got := p.Held(cve); got != 1 {
		t.Fatalf("cve holds %d at floor, want 1", got)
	}
}

func TestGovernorHysteresisAndRestore(t *testing.T) {
	p, g, c := newGov(t, 8, Policy{HealthySamples: 3, RestoreStep: 3})
	p.Request(cve, 4)
	p.Request(cwe, 4)
	if d := g.Observe(slow); d.Action != Revoke || d.Limit != 6 {
		t.Fatalf("revoke %+v", d)
	}
	c.advance(time.Minute)
	// Two healthy samples, then one in the band: the streak restarts.
	for i, s := range []Sample{good, good, band, good, good} {
		if d := g.Observe(s); d.Action != Steady || d.Limit != 6 {
			t.Fatalf("sample %d: %+v, want steady at 6", i, d)
		}
	}
	d := g.Observe(good)
	if d.Action != Restore || d.Limit != 8 {
		t.Fatalf("restore %+v", d)
	}
	if len(d.Notify) != 2 || d.Notify[0] != cve || d.Notify[1] != cwe {
		t.Fatalf("notify %v, want [cve cwe]", d.Notify)
	}
	c.advance(time.Minute)   // once more, and the dead service is forgotten
	p.ReleaseService("meta") // meta dies
	g.Forget("meta")
	p.Request(Holder{"local", "x"}, 8)
	if d := g.Observe(slow); d.Action != Revoke || d.Revoked[Holder{"local", "x"}] != 2 {
		t.Fatalf("second revoke %+v", d)
	}
	for range 3 {
		d = g.Observe(good)
	}
	if d.Action != Restore || len(d.Notify) != 1 || d.Notify[0] != (Holder{"local", "x"}) {
		t.Fatalf("after Forget(meta): %+v", d)
	}
	if got := p.Available(); got != 2 {
		t.Fatalf("available after restore %d, want 2", got)
	}
	for range 9 {
		if d := g.Observe(good); d.Action == Revoke {
			t.Fatalf("healthy samples revoked: %+v", d)
		}
	}
	if st := p.Stats(); st.Limit != st.Total {
		t.Fatalf("not fully restored: %+v", st)
	}
}

func TestGovernorRestoresInSteps(t *testing.T) {
	_, g, c := newGov(t, 12, Policy{HealthySamples: 2})
	for range 3 { // nothing allocated: each revocation cuts the limit itself
		g.Observe(slow)
		c.advance(time.Minute)
	}
	// 12 - ceil(12/4) = 9, 9 - ceil(9/4) = 6, 6 - ceil(6/4) = 4
	if lim := g.Observe(band).Limit; lim != 4 {
		t.Fatalf("limit after 3 revocations %d, want 4", lim)
	}
	var limits []int
	for range 8 {
		if d := g.Observe(good); d.Action == Restore {
			limits = append(limits, d.Limit)
		}
	}
	// step = 12/4 = 3 every 2 healthy samples: 7, 10, 12
	if len(limits) != 3 || limits[0] != 7 || limits[1] != 10 || limits[2] != 12 {
		t.Fatalf("restore steps %v, want [7 10 12]", limits)
	}
}

func TestPolicyValidate(t *testing.T) {
	bad := []Policy{
		{P99RevokeMs: -1},
		{P99RevokeMs: 30, P99RestoreMs: 40},
		{SaturationRevoke: 0.5, SaturationRestore: 0.9},
		{RevokeFraction: 1.5},
		{HealthySamples: -1},
		{Cooldown: -time.Second},
	}
	for _, pol := range bad {
		if _, err := NewGovernor(mustPool(t, 1), pol, nil); !errors.Is(err, ErrPolicy) {
			t.Errorf("NewGovernor(%+v) err = %v, want ErrPolicy", pol, err)
		}
	}
	p := Policy{}.withDefaults()
	if p.P99RevokeMs != 30 || p.SaturationRevoke != 0.8 || p.P99RestoreMs != 15 || p.SaturationRestore != 0.4 {
		t.Fatalf("defaults %+v", p)
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{Steady: "steady", Revoke: "revoke", Hold: "hold", Restore: "restore", 9: "Action(9)"} {
		if a.String() != want {
			t.Errorf("%d.String() = %q, want %q", a, a.String(), want)
		}
	}
}

func TestGovernorRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustPool(t, 10)
		p.Request(cve, 8)
		g, _ := NewGovernor(p, Policy{Cooldown: time.Second}, time.Now)
		samples := []Sample{slow, slow, slow, good, good, good}
		var seen []Action
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			i := 0
			g.Run(ctx, 500*time.Millisecond, func() Sample {
				s := samples[min(i, len(samples)-1)]
				i++
				return s
			}, func(d Decision) { seen = append(seen, d.Action) })
		}()
		time.Sleep(3100 * time.Millisecond) // six ticks
		cancel()
		<-done
		// ticks at 0.5s (revoke), 1.0s (hold: cooldown), 1.5s (revoke), then
		// three healthy samples: restore at the third.
		want := []Action{Revoke, Hold, Revoke, Restore}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Fatalf("actions %v, want %v", seen, want)
		}
	})
}

func TestGovernorForget(t *testing.T) {
	p, g, _ := newGov(t, 8, Policy{})
	x := Holder{"local", "x"}
	p.Request(cve, 4)
	p.Request(x, 4)
	if d := g.Observe(slow); d.Revoked[cve] != 1 || d.Revoked[x] != 1 {
		t.Fatalf("revoke %+v", d)
	}
	p.ReleaseService("meta") // meta died
	g.Forget("meta")
	var d Decision
	for range 3 {
		d = g.Observe(good)
	}
	if d.Action != Restore || fmt.Sprint(d.Notify) != fmt.Sprint([]Holder{x}) {
		t.Fatalf("restore after Forget(meta): %+v", d)
	}
}
