package xlsx

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter reports CPU seconds per operation (user + system, every
// goroutine) and the process's peak RSS: on a shared machine wall time
// depends on the neighbours, CPU time does not.
func cpuMeter(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchLoad(b *testing.B, path string) {
	b.ReportAllocs()
	defer cpuMeter(b)()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadEnterprise(b *testing.B) { benchLoad(b, enterprise18) }
func BenchmarkLoadMobile(b *testing.B)     { benchLoad(b, mobile18) }
func BenchmarkLoadICS(b *testing.B)        { benchLoad(b, ics18) }

// BenchmarkLoadPath loads the three v18.1 workbooks of the assets folder,
// two at a time.
func BenchmarkLoadPath(b *testing.B) {
	b.ReportAllocs()
	defer cpuMeter(b)()
	for b.Loop() {
		if _, err := LoadPath(assetsDir); err != nil {
			b.Fatal(err)
		}
	}
}
