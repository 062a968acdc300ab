package sqlitetest

import (
	"fmt"
	"io"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchFresh measures run on a store opened in a new temporary folder for
// each iteration; opening and closing are not timed.
func BenchFresh[S io.Closer](b *testing.B, name string, open func(path string) (S, error), run func(S) error) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		s, err := open(filepath.Join(b.TempDir(), fmt.Sprintf("%d-%s", i, name)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := run(s); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// BenchFilter measures one page (limit 50) of list for each q, as a
// sub-benchmark named after it, and reports the matches and the CPU time
// per call (user + system, every goroutine: on a shared machine wall time
// depends on the neighbours, CPU time less).
func BenchFilter(b *testing.B, list List, qs ...string) {
	for _, q := range qs {
		name := q
		if name == "" {
			name = "no-q"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			total := 0
			start := cpuTime()
			for b.Loop() {
				var err error
				if _, total, err = list(q, 0, 50); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(total), "matches")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
