package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPlatformStartsAndAnswersOverHTTP(t *testing.T) {
	p := Start(t, DefaultConfig(t))

	resp, err := http.Get(p.URL + "/restful/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}

	var stats struct {
		Total      map[string]int64            `json:"total"`
		PerProcess map[string]map[string]int64 `json:"per_process"`
	}
	p.MustCall("broker", "RPCGetMessageStats", nil, &stats)
	for _, id := range []string{"access", "local", "remote", "meta", "sysmon"} {
		if stats.PerProcess[id]["event_count"] < 1 {
			t.Errorf("%s: no ready event counted: %v", id, stats.PerProcess[id])
		}
	}
	if stats.Total["request_count"] < 1 || stats.Total["total_received"] < 6 {
		t.Errorf("totals: %v", stats.Total)
	}
	var count struct{ Count int64 }
	p.MustCall("", "RPCGetMessageCount", nil, &count)
	if count.Count < 6 {
		t.Errorf("message count %d", count.Count)
	}

	// The static site (or its fallback) is served for GET /.
	resp, err = http.Get(p.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "v2e") {
		t.Fatalf("GET /: %d %.200s", resp.StatusCode, body)
	}
	// Prometheus metrics.
	resp, err = http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `v2e_http_rpc_requests_total{method="RPCGetMessageStats",retcode="0"}`) {
		t.Fatalf("metrics lack the RPC counter:\n%.2000s", body)
	}
}

func TestHTTPContractErrors(t *testing.T) {
	cfg := DefaultConfig(t)
	cfg["access"].(map[string]any)["max_body_bytes"] = 4096
	p := Start(t, cfg)
	cases := []struct {
		name, body string
		status     int
		retcode    int
		message    string
	}{
		{"not json", `hello`, 400, 400, "Invalid request: body must be a JSON object"},
		{"array", `[{"method":"RPCGetMessageStats"}]`, 400, 400, "Invalid request: body must be a JSON object"},
		{"no method", `{"params":{}}`, 400, 400, "Invalid request: method is required"},
		{"method not string", `{"method":5}`, 400, 400, "Invalid request: method is required"},
		{"params not object", `{"method":"RPCGetMessageStats","params":[1]}`, 400, 400, "Invalid request: params must be a JSON object"},
		{"truncated", `{"method":"RPCGetMessageStats"`, 400, 400, "Invalid request: malformed JSON"},
		{"too large", `{"method":"RPCx","params":{"p":"` + strings.Repeat("a", 5000) + `"}}`, 413, 413, "Invalid request: body exceeds 4096 bytes"},
		{"unknown target", `{"method":"RPCx","target":"nowhere"}`, 200, 500, `target process "nowhere" not found`},
		{"unknown method", `{"method":"RPCNoSuch","target":"local"}`, 200, 500, "no handler found for method: RPCNoSuch"},
		{"unknown broker method", `{"method":"RPCNoSuch"}`, 200, 500, "no handler found for method: RPCNoSuch"},
	}
	for _, c := range cases {
		status, env := p.Post(c.body)
		if status != c.status || env.Retcode != c.retcode || !strings.HasPrefix(env.Message, c.message) || string(env.Payload) != "null" {
			t.Errorf("%s: got %d %+v (payload %s), want %d retcode %d %q", c.name, status, env, env.Payload, c.status, c.retcode, c.message)
		}
	}
	// Every service still answers afterwards.
	for _, pr := range p.Processes() {
		if pr.Status != "running" || pr.Restarts != 0 {
			t.Errorf("after bad input: %+v", pr)
		}
	}
}

func TestSysmonThroughBroker(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	var m struct {
		CPUUsage    float64 `json:"cpu_usage"`
		MemoryUsage float64 `json:"memory_usage"`
		Processes   []struct {
			ID  string
			PID int
			RSS uint64
		} `json:"processes"`
		MessageStats json.RawMessage `json:"message_stats"`
	}
	p.MustCall("sysmon", "RPCGetSysMetrics", nil, &m)
	if m.MemoryUsage <= 0 || len(m.Processes) != 5 || !strings.Contains(string(m.MessageStats), `"per_process"`) {
		t.Fatalf("%+v", m)
	}
	for _, pr := range m.Processes {
		if pr.PID <= 0 || pr.RSS == 0 {
			t.Errorf("process without pid or rss: %+v", pr)
		}
	}
}

func TestKillNineServiceComesBack(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	before := p.RunningPID(t, "sysmon")
	killed := time.Now()
	signalProcess(t, before, syscall.SIGKILL)
	p.Eventually(20*time.Second, "sysmon answers again", func() bool {
		np, _ := p.PID(t, "sysmon")
		return np != before && np > 0 && p.Call("sysmon", "RPCGetSysMetrics", nil, nil) == nil
	})
	t.Logf("sysmon answered again %s after SIGKILL", time.Since(killed).Round(time.Millisecond))
}

func TestGracefulStop(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	if err := p.Stop(); err != nil {
		t.Fatalf("broker exit: %v\n%s", err, p.Output())
	}
	out := p.Output()
	if !strings.Contains(out, "all processes stopped") {
		t.Fatalf("no clean stop in output:\n%s", out)
	}
	if strings.Contains(out, "killing it") {
		t.Fatalf("a process had to be killed:\n%s", out)
	}
}
