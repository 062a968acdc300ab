package permit_test

import (
	"fmt"
	"time"

	"github.com/v2e/v2e/internal/permit"
)

// The broker's side of the permit protocol: grant, revoke under load,
// restore when healthy.
func ExampleGovernor() {
	pool, _ := permit.New(10)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gov, _ := permit.NewGovernor(pool, permit.Policy{P99RevokeMs: 30, SaturationRevoke: 0.8}, func() time.Time { return now })

	cve := permit.Holder{Service: "meta", Provider: "cve"}
	cwe := permit.Holder{Service: "meta", Provider: "cwe"}
	granted, available, _ := pool.Request(cve, 6)
	fmt.Println("cve granted", granted, "available", available)
	granted, available, _ = pool.Request(cwe, 6)
	fmt.Println("cwe granted", granted, "available", available)

	d := gov.Observe(permit.Sample{P99Ms: 48, Saturation: 0.3})
	fmt.Println(d.Action, d.Reason, "limit", d.Limit)
	for _, h := range []permit.Holder{cve, cwe} {
		fmt.Printf("RPCOnQuotaUpdate to %s: provider %s revoked_permits %d\n", h.Service, h.Provider, d.Revoked[h])
	}

	for range 3 {
		now = now.Add(time.Second)
		d = gov.Observe(permit.Sample{P99Ms: 4, Saturation: 0.1})
	}
	fmt.Println(d.Action, "limit", d.Limit, "notify", len(d.Notify))
	// Output:
	// cve granted 6 available 4
	// cwe granted 4 available 0
	// revoke p99_latency_ms 48.0 > 30 limit 7
	// RPCOnQuotaUpdate to meta: provider cve revoked_permits 2
	// RPCOnQuotaUpdate to meta: provider cwe revoked_permits 1
	// restore limit 9 notify 2
}
