package permit

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkRequestRelease is one Request(1) + Release(1) pair, uncontended.
func BenchmarkRequestRelease(b *testing.B) {
	p := mustPool(b, DefaultTotal)
	b.ReportAllocs()
	for b.Loop() {
		p.Request(cve, 1)
		p.Release(cve, 1)
	}
}

// BenchmarkRequestReleaseParallel64 runs the same pair from 64 goroutines
// (SetParallelism scales by GOMAXPROCS), each its own holder, on the default
// pool of 10: most requests contend and many get zero.
func BenchmarkRequestReleaseParallel64(b *testing.B) {
	p := mustPool(b, DefaultTotal)
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	var id atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		h := Holder{Service: "meta", Provider: fmt.Sprint("p", id.Add(1))}
		for pb.Next() {
			p.Request(h, 1)
			p.Release(h, 1)
		}
	})
}

// BenchmarkRevokeProportional revokes 3 of 10 permits held by 5 holders.
func BenchmarkRevokeProportional(b *testing.B) {
	p := mustPool(b, DefaultTotal)
	hs := []Holder{meta("cve"), meta("cwe"), meta("capec"), meta("attack"), meta("ssg")}
	b.ReportAllocs()
	for b.Loop() {
		for _, h := range hs {
			p.Request(h, 2)
		}
		p.RevokeProportional(3)
		for _, h := range hs {
			p.Release(h, 2)
		}
	}
}
