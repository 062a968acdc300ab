package latency

import (
	"testing"
	"time"
)

// BenchmarkRecord is one Window.Record with the real clock.
func BenchmarkRecord(b *testing.B) {
	w, _ := NewWindow(Config{})
	b.ReportAllocs()
	d := 1500 * time.Microsecond
	for b.Loop() {
		w.Record(d)
	}
}

// BenchmarkObserve is one Tracker.Observe (overall + per-target window, one
// clock read) with the real clock.
func BenchmarkObserve(b *testing.B) {
	tr, _ := New(Config{})
	b.ReportAllocs()
	d := 1500 * time.Microsecond
	for b.Loop() {
		tr.Observe("local", d)
	}
}

// BenchmarkMessage is one Tracker.Message (rate counter) with the real clock.
func BenchmarkMessage(b *testing.B) {
	tr, _ := New(Config{})
	b.ReportAllocs()
	for b.Loop() {
		tr.Message()
	}
}

// BenchmarkObserveParallel is Tracker.Observe from GOMAXPROCS goroutines on
// the same target (worst case: shared cache lines).
func BenchmarkObserveParallel(b *testing.B) {
	tr, _ := New(Config{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 1500 * time.Microsecond
		for pb.Next() {
			tr.Observe("local", d)
		}
	})
}

// BenchmarkSnapshot is one read of p50/p99/rates over a full 10-slice window
// with 6 targets.
func BenchmarkSnapshot(b *testing.B) {
	c := newClock()
	tr, _ := New(Config{Now: c.now})
	for range 10 {
		for _, t := range []string{"access", "local", "remote", "meta", "sysmon", "broker"} {
			for i := range 100 {
				tr.Observe(t, time.Duration(i)*time.Millisecond)
			}
		}
		c.advance(time.Second)
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.Snapshot()
	}
}

// BenchmarkP99 is Tracker.P99 (overall window only).
func BenchmarkP99(b *testing.B) {
	tr, _ := New(Config{})
	for i := range 1000 {
		tr.Observe("local", time.Duration(i)*time.Microsecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.P99()
	}
}
