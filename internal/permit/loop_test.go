package permit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/v2e/v2e/internal/latency"
	"github.com/v2e/v2e/internal/permit"
	"github.com/v2e/v2e/internal/queue"
)

// TestSlowConsumerRevokesAndRecovers joins the three broker-master packages
// the way the broker does: a destination stops reading, its queue fills, the
// governor sees the saturation and revokes; the consumer recovers, the queue
// drains, and capacity comes back.
func TestSlowConsumerRevokesAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		pool, _ := permit.New(10)
		tr, _ := latency.New(latency.Config{})
		g, _ := queue.NewGroup(queue.Config{Buffer: 10, Policy: queue.Drop, OnWait: tr.Observe})
		defer g.Close()
		stuck := make(chan struct{})
		g.Add("local", func([][]byte) error { <-stuck; return nil })
		gov, _ := permit.NewGovernor(pool, permit.Policy{HealthySamples: 2}, time.Now)

		meta := permit.Holder{Service: "meta", Provider: "cve"}
		pool.Request(meta, 8)
		var mu sync.Mutex
		var events []permit.Decision
		var loop sync.WaitGroup
		loop.Go(func() {
			gov.Run(ctx, time.Second, func() permit.Sample {
				return permit.Sample{P99Ms: tr.Snapshot().Overall.P99Ms(), Saturation: g.Saturation()}
			}, func(d permit.Decision) {
				mu.Lock()
				events = append(events, d)
				mu.Unlock()
			})
		})
		seen := func() []permit.Decision {
			mu.Lock()
			defer mu.Unlock()
			return append([]permit.Decision(nil), events...)
		}
		line := []byte(`{"type":"request","id":"RPCGetCVEByID"}`)
		g.Offer(ctx, "local", line)
		synctest.Wait() // local took it and stopped reading
		for range 19 {  // 10 queued, 9 dropped
			g.Offer(ctx, "local", line)
		}
		time.Sleep(1500 * time.Millisecond) // one tick: saturation 1.0
		if ev := seen(); len(ev) != 1 || ev[0].Action != permit.Revoke || ev[0].Revoked[meta] != 2 ||
			ev[0].Reason != "buffer_saturation 1.00 > 0.8" {
			close(stuck)
			t.Fatalf("after the stall: %+v", ev)
		}
		close(stuck)                        // the consumer reads again
		time.Sleep(12 * time.Second)        // the queue-wait samples (1.5 s) leave the window
		time.Sleep(2500 * time.Millisecond) // then two healthy ticks
		cancel()
		loop.Wait()
		events = seen()
		// The stall's queue-wait samples (~1.5 s) stay in the 10 s window, so
		// the governor keeps cutting (one revocation per 2 s cooldown) down to
		// the floor of 1, then restores 2 permits per 2 healthy ticks.
		var limits []int
		revoked := 0
		for _, e := range events {
			limits = append(limits, e.Limit)
			revoked += e.Revoked[meta]
		}
		want := []int{6, 6, 4, 4, 3, 3, 2, 2, 1, 1, 3, 5, 7}
		if fmt.Sprint(limits) != fmt.Sprint(want) || revoked != 7 || pool.Held(meta) != 1 {
			t.Fatalf("limits %v (want %v), revoked %d, held %d", limits, want, revoked, pool.Held(meta))
		}
		if last := events[len(events)-1]; last.Action != permit.Restore || len(last.Notify) != 1 {
			t.Fatalf("last decision %+v", last)
		}
		if st := g.Stats()["local"]; st.Dropped != 9 || st.Delivered != 11 {
			t.Fatalf("queue stats %+v", st)
		}
	})
}
