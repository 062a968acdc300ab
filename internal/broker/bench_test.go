package broker

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

// benchResult is what the pinger child measured.
type benchResult struct {
	P50NS     int64 `json:"p50_ns"`
	P99NS     int64 `json:"p99_ns"`
	ElapsedNS int64 `json:"elapsed_ns"`
}

// registerPinger adds RPCBench to a child: n calls of RPCEcho on target with
// at most window in flight, timing each round trip.
func registerPinger(s *service.Service) {
	s.Handle("RPCBench", func(ctx context.Context, p json.RawMessage) (any, error) {
		var req struct {
			Target string `json:"target"`
			N      int    `json:"n"`
			Window int    `json:"window"`
		}
		if err := json.Unmarshal(p, &req); err != nil {
			return nil, err
		}
		lat := make([]int64, req.N)
		var wg sync.WaitGroup
		var firstErr error
		var mu sync.Mutex
		var next atomic.Int64
		params := json.RawMessage(`{"cve_id":"CVE-2021-44228"}`)
		start := time.Now()
		// window callers, each sending its next request when the last is
		// answered, as a client keeping that many calls in flight does.
		for range min(max(req.Window, 1), req.N) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < req.N; i = int(next.Add(1) - 1) {
					t0 := time.Now()
					_, err := s.CallRaw(ctx, req.Target, "RPCEcho", params)
					lat[i] = int64(time.Since(t0))
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		if firstErr != nil {
			return nil, firstErr
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		return benchResult{P50NS: lat[len(lat)/2], P99NS: lat[len(lat)*99/100], ElapsedNS: int64(elapsed)}, nil
	})
}

// runRouted measures RPCBench between two echo services: procs is their
// GOMAXPROCS (0: the runtime's default, one per core).
func runRouted(b *testing.B, window, procs int, tweak func(*config.Config)) {
	h := start(&testing.T{}, map[string]string{"pinger": "echo", "echo": "echo"}, func(c *config.Config) {
		if procs > 0 {
			for i := range c.Broker.Processes {
				c.Broker.Processes[i].Env["GOMAXPROCS"] = strconv.Itoa(procs)
			}
		}
		if tweak != nil {
			tweak(c)
		}
	})
	defer h.b.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	selfBefore, childrenBefore := cpuTime(syscall.RUSAGE_SELF), cpuTime(syscall.RUSAGE_CHILDREN)
	b.ResetTimer()
	raw, err := h.conn.Call(ctx, "pinger", "RPCBench", map[string]any{"target": "echo", "n": b.N, "window": window})
	b.StopTimer()
	brokerCPU := cpuTime(syscall.RUSAGE_SELF) - selfBefore
	if err != nil {
		b.Fatal(err)
	}
	var r benchResult
	if err := json.Unmarshal(raw, &r); err != nil {
		b.Fatal(err)
	}
	h.b.Stop() // the services' CPU time is known once they have exited
	servicesCPU := cpuTime(syscall.RUSAGE_CHILDREN) - childrenBefore
	report(b, r, window)
	// Each call is two routed messages: the request and its response.
	b.ReportMetric(2*float64(b.N)/(float64(r.ElapsedNS)/1e9), "routed-msgs/s")
	b.ReportMetric(float64(brokerCPU.Microseconds())/float64(b.N), "broker-cpu-µs/call")
	b.ReportMetric(float64(servicesCPU.Microseconds())/float64(b.N), "services-cpu-µs/call")
}

// cpuTime is the user plus system CPU time of who (RUSAGE_SELF, or
// RUSAGE_CHILDREN: the children waited for so far).
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, r benchResult, window int) {
	if window == 1 {
		b.ReportMetric(float64(r.P50NS)/1e3, "p50-µs")
		b.ReportMetric(float64(r.P99NS)/1e3, "p99-µs")
	}
	b.ReportMetric(float64(b.N)/(float64(r.ElapsedNS)/1e9), "msgs/s")
}

// BenchmarkRoutedRoundTrip: one request at a time from one child service to
// another through the broker (request and response both routed). The two
// services run with GOMAXPROCS=1 (what service.LimitProcs(1) gives an
// I/O-bound service): with an idle second P, every hand-over between
// goroutines (request to handler, answer to caller) wakes another thread.
func BenchmarkRoutedRoundTrip(b *testing.B) { runRouted(b, 1, 1, nil) }

// BenchmarkRoutedRoundTripDefaultProcs: the same with the services on the
// runtime's default GOMAXPROCS (one per core).
func BenchmarkRoutedRoundTripDefaultProcs(b *testing.B) { runRouted(b, 1, 0, nil) }

// BenchmarkRoutedPipelined: up to 256 requests in flight.
func BenchmarkRoutedPipelined(b *testing.B) { runRouted(b, 256, 1, nil) }

// BenchmarkRoutedPipelinedDefaultProcs: the same with the services on the
// runtime's default GOMAXPROCS.
func BenchmarkRoutedPipelinedDefaultProcs(b *testing.B) { runRouted(b, 256, 0, nil) }

// BenchmarkRoutedPipelinedOptimizer: the same through the asynchronous
// optimizer (bounded queues, batches of 64, wait policy).
func BenchmarkRoutedPipelinedOptimizer(b *testing.B) {
	runRouted(b, 256, 1, func(c *config.Config) {
		c.Broker.Optimizer = config.Optimizer{Enabled: true, Buffer: 1000, Workers: 4, Batch: 64, FlushMS: 1, Policy: "wait"}
	})
}

// runRawEcho is the baseline child: it echoes every line from fd 3 to fd 4.
func runRawEcho() int {
	in := bufio.NewReaderSize(os.NewFile(3, "in"), 64<<10)
	out := bufio.NewWriterSize(os.NewFile(4, "out"), 64<<10)
	for {
		line, err := in.ReadSlice('\n')
		if err != nil {
			return 0
		}
		out.Write(line)
		if in.Buffered() == 0 {
			if out.Flush() != nil {
				return 0
			}
		}
	}
}

func runRaw(b *testing.B, window int) {
	childIn, toChild, _ := os.Pipe()
	fromChild, childOut, _ := os.Pipe()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "V2E_TEST_CHILD=rawecho", "GORACE=atexit_sleep_ms=0")
	cmd.ExtraFiles = []*os.File{childIn, childOut}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	childIn.Close()
	childOut.Close()
	defer func() { toChild.Close(); cmd.Wait(); fromChild.Close() }()
	line := []byte(`{"type":"request","id":"RPCEcho","payload":{"cve_id":"CVE-2021-44228"},"source":"pinger","target":"echo","correlation_id":"pinger-1a2b3c4d-1"}` + "\n")
	w := rpc.NewWriter(toChild)
	r := rpc.NewReader(fromChild, 0)
	lat := make([]int64, b.N)
	sent := make([]time.Time, b.N)
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	credit := make(chan struct{}, window)
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			if _, err := r.ReadLine(); err != nil {
				b.Error(err)
				return
			}
			lat[i] = int64(time.Since(sent[i]))
			<-credit
		}
	}()
	for i := 0; i < b.N; i++ {
		credit <- struct{}{}
		sent[i] = time.Now()
		if err := w.WriteLine(line); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	report(b, benchResult{P50NS: lat[len(lat)/2], P99NS: lat[len(lat)*99/100], ElapsedNS: int64(elapsed)}, window)
}

// BenchmarkRawPipeRoundTrip is the baseline: the same line echoed by a
// second process over a pipe pair, one at a time.
func BenchmarkRawPipeRoundTrip(b *testing.B) { runRaw(b, 1) }

// BenchmarkRawPipePipelined: the baseline with up to 256 lines in flight.
func BenchmarkRawPipePipelined(b *testing.B) { runRaw(b, 256) }
