package broker

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/rpc"
)

// requestPermits asks the broker for permits on behalf of child id (the
// holder is the child, as it would be for meta).
func requestPermits(t *testing.T, h *harness, id, provider string, n int) (granted, available int) {
	t.Helper()
	raw, err := h.call(t, id, "RPCRelay", map[string]any{"target": "broker", "method": "RPCRequestPermits",
		"params": map[string]any{"provider_id": provider, "permit_count": n}})
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ Granted, Available int }
	json.Unmarshal(raw, &r)
	return r.Granted, r.Available
}

func kernel(t *testing.T, h *harness) KernelMetrics {
	t.Helper()
	raw, err := h.call(t, rpc.BrokerID, "RPCGetKernelMetrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	var k KernelMetrics
	if err := json.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPermitRPCs(t *testing.T) {
	h := start(t, map[string]string{"meta": "echo"}, nil)
	if g, a := requestPermits(t, h, "meta", "cve", 4); g != 4 || a != 6 {
		t.Fatalf("granted %d available %d", g, a)
	}
	if g, a := requestPermits(t, h, "meta", "cwe", 20); g != 6 || a != 0 {
		t.Fatalf("asked 20 of 6 free: granted %d available %d", g, a)
	}
	if g, _ := requestPermits(t, h, "meta", "capec", 1); g != 0 {
		t.Fatalf("granted %d from an empty pool", g)
	}
	for _, c := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"permit_count": 1}, "provider_id is required"},
		{map[string]any{"provider_id": "cve", "permit_count": 0}, "permit_count must be greater than 0"},
		{map[string]any{"provider_id": "cve", "permit_count": -2}, "permit_count must be greater than 0"},
	} {
		for _, m := range []string{"RPCRequestPermits", "RPCReleasePermits"} {
			if _, err := h.call(t, rpc.BrokerID, m, c.params); err == nil || err.Error() != c.want {
				t.Errorf("%s %v: %v, want %q", m, c.params, err, c.want)
			}
		}
	}
	raw, err := h.call(t, "meta", "RPCRelay", map[string]any{"target": "broker", "method": "RPCReleasePermits",
		"params": map[string]any{"provider_id": "cve", "permit_count": 10}})
	if err != nil || !strings.Contains(string(raw), `"released":4`) || !strings.Contains(string(raw), `"available":4`) {
		t.Fatalf("release capped at holding: %s %v", raw, err)
	}
	k := kernel(t, h)
	if k.TotalPermits != 10 || k.AllocatedPermits != 6 || k.AvailablePermits != 4 {
		t.Fatalf("kernel metrics %+v", k)
	}
	// Shrinking the pool at run time takes permits back from the holder.
	if _, err := h.call(t, rpc.BrokerID, "RPCResizePermits", map[string]int{"total": 3}); err != nil {
		t.Fatal(err)
	}
	if k := kernel(t, h); k.TotalPermits != 3 || k.AllocatedPermits != 3 {
		t.Fatalf("after resize to 3: %+v", k)
	}
	waitFor(t, 5*time.Second, func() bool {
		raw, _ := h.call(t, "meta", "RPCQuotaEvents", nil)
		return strings.Contains(string(raw), "pool resized to 3")
	})
	if _, err := h.call(t, rpc.BrokerID, "RPCResizePermits", map[string]int{"total": 10}); err != nil {
		t.Fatal(err)
	}
	// The permits of a process that dies come back.
	raw, err = h.call(t, "meta", "RPCPid", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pid struct{ PID int }
	if err := json.Unmarshal(raw, &pid); err != nil {
		t.Fatal(err)
	}
	kill9(t, pid.PID)
	waitFor(t, 10*time.Second, func() bool { return kernel(t, h).AllocatedPermits == 0 })
	if k := kernel(t, h); k.AvailablePermits != 10 {
		t.Fatalf("after the holder died: %+v", k)
	}
}

// TestRevocationUnderLoad loads a service until the governed p99 crosses
// the threshold: the holder gets RPCOnQuotaUpdate with permits revoked, and
// after the load stops the capacity comes back and the holder is told.
func TestRevocationUnderLoad(t *testing.T) {
	h := start(t, map[string]string{"meta": "echo", "local": "echo"}, func(c *config.Config) {
		c.Broker.Permits.P99RevokeMS = 30
	})
	if g, _ := requestPermits(t, h, "meta", "cve", 8); g != 8 {
		t.Fatalf("granted %d", g)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				h.call(t, "local", "RPCSleep", map[string]int{"ms": 60})
			}
		}()
	}
	events := func() []map[string]any {
		raw, err := h.call(t, "meta", "RPCQuotaEvents", nil)
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Events []map[string]any }
		json.Unmarshal(raw, &r)
		return r.Events
	}
	waitFor(t, 20*time.Second, func() bool { return len(events()) > 0 })
	close(stop)
	wg.Wait()
	ev := events()[0]
	if ev["revoked_permits"].(float64) < 1 || !strings.Contains(ev["reason"].(string), "p99") || ev["provider_id"] != "cve" || ev["kernel_metrics"] == nil {
		t.Fatalf("first quota update: %v", ev)
	}
	if k := kernel(t, h); k.AllocatedPermits >= 8 || k.PermitLimit >= 10 {
		t.Fatalf("after revocation: %+v", k)
	}
	// Healthy again: the limit climbs back to the total and the holder hears of it.
	waitFor(t, 30*time.Second, func() bool { return kernel(t, h).PermitLimit == 10 })
	waitFor(t, 10*time.Second, func() bool {
		for _, e := range events() {
			if e["revoked_permits"].(float64) == 0 && strings.Contains(e["reason"].(string), "restored") {
				return true
			}
		}
		return false
	})
}

func TestOptimizerRoutesInOrder(t *testing.T) {
	for _, policy := range []string{"wait", "reject"} {
		t.Run(policy, func(t *testing.T) {
			h := start(t, map[string]string{"pinger": "echo", "echo": "echo"}, func(c *config.Config) {
				c.Broker.Optimizer = config.Optimizer{Enabled: true, Buffer: 64, Workers: 2, Batch: 8, FlushMS: 1, Policy: policy}
			})
			raw, err := h.call(t, "pinger", "RPCBench", map[string]any{"target": "echo", "n": 2000, "window": 32})
			if err != nil {
				t.Fatalf("%s: %v", policy, err)
			}
			var r benchResult
			json.Unmarshal(raw, &r)
			if r.ElapsedNS == 0 {
				t.Fatalf("no result: %s", raw)
			}
			if k := kernel(t, h); k.BufferSaturation < 0 || k.BufferSaturation > 1 {
				t.Fatalf("saturation %v", k.BufferSaturation)
			}
		})
	}
}
