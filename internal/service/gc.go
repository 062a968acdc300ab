package service

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
)

// GC tuning, for every service (service.Main applies it). With GOGC's
// default of 100 the heap goal is twice the live heap but at least 4 MiB;
// access keeps 1–3 MiB live and allocates ≈ 8 kB per routed request, local
// ≈ 10 kB per RPCGetCVEByID, so at 2,000 requests/s each collected about ten
// times a second, and each cycle's pauses and mark assists landed on
// requests in flight. FloorGC keeps the goal at HeapFloor or above instead,
// by setting GOGC after every cycle from the live heap; once the live heap
// reaches half the floor GOGC is back at 100, so a large heap (1,000
// connections, an import) is collected as before and memory does not grow
// because of it.
const (
	HeapFloorEnv     = "V2E_GC_HEAP_FLOOR_MB" // 0 turns the floor off
	defaultHeapFloor = 32 << 20
	runtimeHeapMin   = 4 << 20 // the runtime's minimum heap goal at GOGC=100, scaled by GOGC/100
)

// HeapFloor is the heap goal floor in bytes: V2E_GC_HEAP_FLOOR_MB when it is
// a number, else 32 MiB; 0 (no tuning) when the operator set GOGC, whose
// value the runtime then applies unchanged.
func HeapFloor(getenv func(string) string) uint64 {
	if getenv("GOGC") != "" {
		return 0
	}
	if mb, err := strconv.ParseUint(getenv(HeapFloorEnv), 10, 16); err == nil {
		return mb << 20
	}
	return defaultHeapFloor
}

// gcPercent is the GOGC that puts the heap goal, max(4 MiB × GOGC/100,
// live × (1 + GOGC/100)), at floor or just above: at least 100, and at most
// the value whose scaled minimum is floor itself.
func gcPercent(live, floor uint64) int {
	hi := max(100, floor*100/runtimeHeapMin)
	if live == 0 || live >= floor {
		return 100
	}
	return int(min(hi, max(100, (floor-live)*100/live)))
}

// FloorGC keeps the heap goal at floor or above from now on (nothing when
// floor is 0). After every GC cycle a cleanup reads the live heap and sets
// GOGC again; it runs on the runtime's cleanup goroutine, costs a few
// microseconds per cycle and needs no stopping.
func FloorGC(floor uint64) {
	if floor == 0 {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		metrics.Read(sample)
		var live uint64
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = sample[0].Value.Uint64()
		}
		debug.SetGCPercent(gcPercent(live, floor))
		// The sentinel (large enough not to share a tiny-allocator block)
		// is unreachable at once: its cleanup runs after the next cycle.
		runtime.AddCleanup(new([32]byte), func(struct{}) { arm() }, struct{}{})
	}
	arm()
}
