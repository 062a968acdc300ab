package service

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{0, 32 * mb, 100},       // no reading yet: the runtime's default
		{1 * mb, 32 * mb, 800},  // capped: 4 MiB × 8 = 32 MiB is the goal
		{5 * mb, 32 * mb, 540},  // 5 MiB × 6.4 = 32 MiB
		{16 * mb, 32 * mb, 100}, // 16 MiB × 2 = 32 MiB
		{40 * mb, 32 * mb, 100}, // above the floor: unchanged
		{1 * mb, 8 * mb, 200},   // 4 MiB × 2 = 8 MiB
		{3 * mb, 2 * mb, 100},   // a floor under the runtime's own minimum
	} {
		if got := gcPercent(c.live, c.floor); got != c.want {
			t.Errorf("gcPercent(%d MiB, %d MiB) = %d, want %d", c.live/mb, c.floor/mb, got, c.want)
		}
	}
}

func TestHeapFloor(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want uint64
	}{
		{nil, 32 << 20},
		{map[string]string{"V2E_GC_HEAP_FLOOR_MB": "64"}, 64 << 20},
		{map[string]string{"V2E_GC_HEAP_FLOOR_MB": "0"}, 0},
		{map[string]string{"V2E_GC_HEAP_FLOOR_MB": "lots"}, 32 << 20},
		{map[string]string{"GOGC": "200", "V2E_GC_HEAP_FLOOR_MB": "64"}, 0},
	} {
		if got := HeapFloor(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("HeapFloor(%v) = %d, want %d", c.env, got, c.want)
		}
	}
}

// TestFloorGC checks that the cleanup re-arms after every cycle: GOGC set
// back to 100 by hand returns to the floor's value after the next cycles.
// The chain stays armed in this test binary afterwards (no other test here
// depends on GOGC).
func TestFloorGC(t *testing.T) {
	FloorGC(32 << 20)
	for round := range 3 {
		debug.SetGCPercent(100)
		deadline := time.Now().Add(5 * time.Second)
		for {
			runtime.GC()
			time.Sleep(5 * time.Millisecond) // the cleanup goroutine runs
			p := debug.SetGCPercent(-1)
			debug.SetGCPercent(p)
			if p > 100 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: GOGC still %d after repeated cycles", round, p)
			}
		}
	}
}
