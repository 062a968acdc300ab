package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

// The test binary doubles as the child services: with V2E_TEST_CHILD set it
// runs a real service on the framework instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("V2E_TEST_CHILD"); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

func runChild(mode string) int {
	id := os.Getenv("V2E_PROCESS_ID")
	switch mode {
	case "exit":
		return 3
	case "noready":
		time.Sleep(time.Hour)
		return 0
	case "rawecho":
		return runRawEcho()
	}
	s := service.New(id, service.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	s.Handle("RPCEcho", func(ctx context.Context, p json.RawMessage) (any, error) {
		return json.RawMessage(p), nil
	})
	s.Handle("RPCPid", func(context.Context, json.RawMessage) (any, error) {
		return map[string]int{"pid": os.Getpid()}, nil
	})
	s.Handle("RPCSleep", func(ctx context.Context, p json.RawMessage) (any, error) {
		var req struct {
			MS int `json:"ms"`
		}
		_ = json.Unmarshal(p, &req)
		d := time.Hour
		if req.MS > 0 {
			d = time.Duration(req.MS) * time.Millisecond
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		return nil, nil
	})
	var quotaMu sync.Mutex
	var quota []json.RawMessage
	s.OnEvent("RPCOnQuotaUpdate", func(_ context.Context, p json.RawMessage) {
		quotaMu.Lock()
		quota = append(quota, p)
		quotaMu.Unlock()
	})
	s.Handle("RPCQuotaEvents", func(context.Context, json.RawMessage) (any, error) {
		quotaMu.Lock()
		defer quotaMu.Unlock()
		return map[string]any{"events": append([]json.RawMessage{}, quota...)}, nil
	})
	s.Handle("RPCFail", func(context.Context, json.RawMessage) (any, error) {
		return nil, rpc.Errorf(rpc.CodeNotFound, "CVE-0000-0000 not found")
	})
	s.Handle("RPCRelay", func(ctx context.Context, p json.RawMessage) (any, error) {
		var req struct {
			Target, Method string
			Params         json.RawMessage
		}
		if err := json.Unmarshal(p, &req); err != nil {
			return nil, err
		}
		return s.CallRaw(ctx, req.Target, req.Method, req.Params)
	})
	registerPinger(s)
	if mode == "garbage" {
		go func() {
			for i := 0; i < 50; i++ {
				writeAll(4, fmt.Appendf(nil, "this is not json %d\n{\"type\":\"bogus\",\"id\":\"x\"}\n{\"type\":\"request\"\n", i))
				writeAll(4, []byte(strings.Repeat("x", 5000)+"\n")) // over the test's 4 KiB limit
				time.Sleep(time.Millisecond)
			}
		}()
	}
	if err := s.RunFromEnv(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// writeAll writes p to fd whole, waiting while the pipe is full. The
// service sets its output descriptor non-blocking when it starts, possibly
// after an os.File here was opened on it as a blocking one: that File's
// writes then failed with EAGAIN when the broker lagged, and the garbage
// lines were lost or cut (TestGarbageFromOneChildDisturbsNoOne saw 31 of
// its 50 oversize lines once).
func writeAll(fd int, p []byte) {
	for len(p) > 0 {
		n, err := syscall.Write(fd, p)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
			time.Sleep(100 * time.Microsecond)
		case err != nil:
			return
		default:
			p = p[n:]
		}
	}
}

type harness struct {
	b    *Broker
	conn *rpc.Conn
	raw  *rpc.Writer // the tester's pipe to the broker, bypassing Conn
	logs *logBuffer
}

type logBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.String()
}

// start runs a broker over children of the given modes (id → mode) plus an
// in-process peer "tester" whose Conn the test drives.
func start(t *testing.T, modes map[string]string, tweak func(*config.Config)) *harness {
	t.Helper()
	cfg := config.Default()
	cfg.Broker.MaxMessageSizeBytes = 4096
	cfg.Broker.StopTimeoutSeconds = 4
	for id, mode := range modes {
		cfg.Broker.Processes = append(cfg.Broker.Processes, config.Process{
			ID: id, Command: os.Args[0], RPC: true, Restart: true, MaxRestarts: -1,
			Env: map[string]string{"V2E_TEST_CHILD": mode, "GORACE": "atexit_sleep_ms=0"},
		})
	}
	if tweak != nil {
		tweak(&cfg)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := New(cfg, log, log)
	toBroker, fromTester, _ := os.Pipe() // tester writes, broker reads
	fromBroker, toTester, _ := os.Pipe() // broker writes, tester reads
	detach := b.Attach("tester", toBroker, toTester)
	conn := rpc.NewConn("tester", fromBroker, fromTester, 0)
	go conn.Serve(func(*rpc.Message) {}, nil)
	ready, _ := rpc.NewEvent(rpc.EventReady, rpc.BrokerID, map[string]string{"id": "tester"})
	if err := conn.Send(ready); err != nil {
		t.Fatal(err)
	}
	b.Start(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.WaitReady(ctx); err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	t.Cleanup(func() {
		b.Stop()
		fromTester.Close()
		detach()
		fromBroker.Close()
		if t.Failed() {
			t.Logf("broker log:\n%s", logs)
		}
	})
	return &harness{b: b, conn: conn, raw: rpc.NewWriter(fromTester), logs: logs}
}

func (h *harness) call(t *testing.T, target, method string, params any) (json.RawMessage, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return h.conn.Call(ctx, target, method, params)
}

func TestRoutingBetweenRealChildren(t *testing.T) {
	h := start(t, map[string]string{"alpha": "echo", "beta": "echo"}, nil)
	res, err := h.call(t, "alpha", "RPCEcho", map[string]string{"cve_id": "CVE-2021-44228"})
	if err != nil || string(res) != `{"cve_id":"CVE-2021-44228"}` {
		t.Fatalf("echo: %s, %v", res, err)
	}
	// alpha calls beta through the broker.
	res, err = h.call(t, "alpha", "RPCRelay", map[string]any{"target": "beta", "method": "RPCEcho", "params": map[string]int{"n": 7}})
	if err != nil || string(res) != `{"n":7}` {
		t.Fatalf("relay: %s, %v", res, err)
	}
	// Errors keep their text and code across two hops.
	_, err = h.call(t, "alpha", "RPCRelay", map[string]any{"target": "beta", "method": "RPCFail"})
	if !errors.Is(err, rpc.NotFound) || err.Error() != "CVE-0000-0000 not found" {
		t.Fatalf("relayed error: %v", err)
	}
	// The broker's own methods.
	res, err = h.call(t, rpc.BrokerID, "RPCListProcesses", nil)
	if err != nil || !strings.Contains(string(res), `"id":"alpha"`) || !strings.Contains(string(res), `"status":"running"`) {
		t.Fatalf("list processes: %s, %v", res, err)
	}
	var stats StatsReply
	res, err = h.call(t, rpc.BrokerID, "RPCGetMessageStats", nil)
	if err != nil || json.Unmarshal(res, &stats) != nil {
		t.Fatalf("stats: %s, %v", res, err)
	}
	if a := stats.PerProcess["alpha"]; a.RequestCount != 2 || a.ResponseCount != 2 || a.ErrorCount != 1 || stats.PerProcess["beta"].ResponseCount != 1 {
		t.Fatalf("per-process counts: %+v", stats.PerProcess)
	}
}

func TestErrorsForUnknownTargetsAndMethods(t *testing.T) {
	h := start(t, map[string]string{"alpha": "echo"}, nil)
	cases := []struct {
		target, method, want string
	}{
		{"nope", "RPCEcho", `target process "nope" not found`},
		{"alpha", "RPCMissing", "no handler found for method: RPCMissing"},
		{rpc.BrokerID, "RPCMissing", "no handler found for method: RPCMissing"},
	}
	for _, c := range cases {
		_, err := h.call(t, c.target, c.method, nil)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s on %s: got %v, want %q", c.method, c.target, err, c.want)
		}
	}
}

func TestSpoofedSourceRefused(t *testing.T) {
	h := start(t, map[string]string{"alpha": "echo"}, nil)
	// Write a request claiming to come from alpha on the tester's pipe.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := &rpc.Message{Type: rpc.TypeRequest, ID: "RPCEcho", Target: "alpha", CorrelationID: "spoof-1", Source: "alpha"}
	res, err := h.conn.Call(ctx, rpc.BrokerID, "RPCGetMessageStats", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := mustStats(t, res).Refused
	if err := h.raw.Write(m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool {
		res, err := h.conn.Call(ctx, rpc.BrokerID, "RPCGetMessageStats", nil)
		return err == nil && mustStats(t, res).Refused == before+1
	})
	if !strings.Contains(h.logs.String(), "source does not match sender") {
		t.Fatal("refusal not logged")
	}
}

func mustStats(t *testing.T, raw json.RawMessage) StatsReply {
	var s StatsReply
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill9 kills one child with SIGKILL. A pid of 0 or -1 would signal the
// test's own process group or every process, so it is refused.
func kill9(t *testing.T, pid int) {
	t.Helper()
	if pid <= 1 || pid == os.Getpid() || pid == os.Getppid() {
		t.Fatalf("refusing to kill pid %d: not a child", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
}

func TestGarbageFromOneChildDisturbsNoOne(t *testing.T) {
	h := start(t, map[string]string{"noisy": "garbage", "alpha": "echo"}, nil)
	for i := 0; i < 20; i++ {
		for _, target := range []string{"alpha", "noisy"} {
			res, err := h.call(t, target, "RPCEcho", map[string]int{"i": i})
			if err != nil || string(res) != fmt.Sprintf(`{"i":%d}`, i) {
				t.Fatalf("%s echo %d: %s, %v", target, i, res, err)
			}
		}
	}
	waitFor(t, 10*time.Second, func() bool {
		return h.b.Stats().Undecoded >= 100 && h.b.Stats().Refused >= 50
	})
	if got := h.b.Processes(); got[0].Restarts != 0 || got[1].Restarts != 0 {
		t.Fatalf("garbage caused restarts: %+v", got)
	}
}

func TestKilledChildIsRestartedAndInFlightCallsFail(t *testing.T) {
	h := start(t, map[string]string{"alpha": "echo"}, nil)
	res, err := h.call(t, "alpha", "RPCPid", nil)
	if err != nil {
		t.Fatal(err)
	}
	var before struct{ PID int }
	json.Unmarshal(res, &before)

	inFlight := make(chan error, 1)
	go func() {
		_, err := h.call(t, "alpha", "RPCSleep", nil)
		inFlight <- err
	}()
	waitFor(t, 5*time.Second, func() bool { return h.b.Stats().Pending == 1 })
	// Whoever lists the processes meanwhile never sees a running one without
	// a pid: a supervisor script signalling it would signal pid 0, its own
	// process group.
	watch, watched := make(chan struct{}), make(chan ProcessInfo, 1)
	go func() {
		defer close(watched)
		for {
			select {
			case <-watch:
				return
			default:
			}
			if p := h.b.Processes()[0]; p.Status == StatusRunning && p.PID == 0 {
				watched <- p
				return
			}
		}
	}()
	killed := time.Now()
	kill9(t, before.PID)
	select {
	case err := <-inFlight:
		if err == nil || !strings.Contains(err.Error(), `target process "alpha" exited before answering RPCSleep`) {
			t.Fatalf("in-flight call: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight call hangs after its target was killed")
	}
	var after struct{ PID int }
	waitFor(t, 10*time.Second, func() bool {
		res, err := h.call(t, "alpha", "RPCPid", nil)
		return err == nil && json.Unmarshal(res, &after) == nil && after.PID != before.PID
	})
	t.Logf("alpha answered again %s after SIGKILL", time.Since(killed).Round(time.Millisecond))
	close(watch)
	if p, bad := <-watched; bad {
		t.Fatalf("listed as running with no pid: %+v", p)
	}
	if p := h.b.Processes()[0]; p.Restarts != 1 || p.Status != StatusRunning {
		t.Fatalf("after restart: %+v", p)
	}
}

func TestRequestTimeout(t *testing.T) {
	h := start(t, map[string]string{"alpha": "echo"}, func(c *config.Config) { c.Broker.RequestTimeoutSeconds = 0.2 })
	_, err := h.call(t, "alpha", "RPCSleep", nil)
	if !errors.Is(err, rpc.Timeout) || !strings.Contains(err.Error(), "request RPCSleep to alpha timed out after 200ms") {
		t.Fatalf("got %v", err)
	}
	// The late answer is dropped, and the child still answers.
	if _, err := h.call(t, "alpha", "RPCEcho", nil); err != nil {
		t.Fatal(err)
	}
}

func TestRestartPolicy(t *testing.T) {
	cfg := config.Default()
	cfg.Broker.Processes = []config.Process{
		{ID: "flaky", Command: os.Args[0], RPC: true, Restart: true, MaxRestarts: 2, Env: map[string]string{"V2E_TEST_CHILD": "exit"}},
		{ID: "once", Command: os.Args[0], RPC: true, Restart: false, Env: map[string]string{"V2E_TEST_CHILD": "exit"}},
		{ID: "mute", Command: os.Args[0], RPC: true, Restart: false, Env: map[string]string{"V2E_TEST_CHILD": "noready"}},
		{ID: "missing", Command: "/nonexistent/binary", RPC: true, Restart: false},
	}
	cfg.Broker.ReadyTimeoutSeconds = 0.5
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := New(cfg, log, log)
	b.Start(context.Background())
	defer b.Stop()
	waitFor(t, 15*time.Second, func() bool {
		for _, p := range b.Processes() {
			if p.Status != StatusFailed {
				return false
			}
		}
		return true
	})
	if got := b.Processes(); got[0].Restarts != 2 || got[1].Restarts != 0 {
		t.Fatalf("restarts: %+v", got)
	}
}
