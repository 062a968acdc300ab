package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/v2e/v2e/internal/rpc"
)

// echoCaller answers every call from a table of results by method; a method
// missing from it gets the contract's "no handler found" error.
type echoCaller struct {
	mu      sync.Mutex
	results map[string]json.RawMessage
	calls   []string // "target/method"
	block   chan struct{}
}

func (c *echoCaller) CallRaw(ctx context.Context, target, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.calls = append(c.calls, target+"/"+method)
	res, ok := c.results[method]
	c.mu.Unlock()
	if c.block != nil {
		select {
		case <-c.block:
		case <-ctx.Done():
			return nil, &rpc.Error{Code: rpc.CodeTimeout, Message: method + " on " + target + ": timed out"}
		}
	}
	if !ok {
		return nil, rpc.NoHandler(method)
	}
	return res, nil
}

func serve(t testing.TB, h http.Handler, method, path, body string, header ...string) (*http.Response, Envelope) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	var env Envelope
	raw, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
		}
	}
	return resp, env
}

func TestRPCEnvelope(t *testing.T) {
	c := &echoCaller{results: map[string]json.RawMessage{"RPCCount": json.RawMessage(`{"count":3}`), "RPCNull": nil}}
	h := New(c, Config{MaxBodyBytes: 128, Logger: discard()})
	cases := []struct {
		name, method, body string
		status, retcode    int
		msg, payload       string
	}{
		{"success", "POST", `{"method":"RPCCount","target":"local"}`, 200, 0, "success", `{"count":3}`},
		{"null result", "POST", `{"method":"RPCNull"}`, 200, 0, "success", `null`},
		{"service error", "POST", `{"method":"RPCNope"}`, 200, 500, "no handler found for method: RPCNope", `null`},
		{"not json", "POST", `x`, 400, 400, "Invalid request: body must be a JSON object", `null`},
		{"no method", "POST", `{}`, 400, 400, "Invalid request: method is required", `null`},
		{"bad target", "POST", `{"method":"RPCCount","target":1}`, 400, 400, "Invalid request: target must be a string", `null`},
		{"bad params", "POST", `{"method":"RPCCount","params":[]}`, 400, 400, "Invalid request: params must be a JSON object", `null`},
		{"too big", "POST", `{"method":"RPCCount","params":{"a":"` + strings.Repeat("x", 200) + `"}}`, 413, 413, "Invalid request: body exceeds 128 bytes", `null`},
		{"GET", "GET", ``, 405, 405, "Invalid request: use POST", `null`},
		{"quotes in message", "POST", `{"method":"RPC\"<x>"}`, 200, 500, `no handler found for method: RPC"<x>`, `null`},
	}
	for _, tc := range cases {
		resp, env := serve(t, h, tc.method, "/restful/rpc", tc.body)
		if resp.StatusCode != tc.status || env.Retcode != tc.retcode || !strings.HasPrefix(env.Message, tc.msg) || string(env.Payload) != tc.payload {
			t.Errorf("%s: %d %+v (payload %s), want %d %d %q %s", tc.name, resp.StatusCode, env, env.Payload, tc.status, tc.retcode, tc.msg, tc.payload)
		}
	}
	if c.calls[0] != "local/RPCCount" || c.calls[1] != "broker/RPCNull" {
		t.Errorf("calls %v: target must default to broker", c.calls)
	}
}

func TestRPCTimeout(t *testing.T) {
	c := &echoCaller{block: make(chan struct{})}
	h := New(c, Config{RPCTimeout: 20 * time.Millisecond, Logger: discard()})
	resp, env := serve(t, h, "POST", "/restful/rpc", `{"method":"RPCSlow","target":"local"}`)
	if resp.StatusCode != 200 || env.Retcode != 500 || !strings.Contains(env.Message, "timed out") {
		t.Fatalf("%d %+v", resp.StatusCode, env)
	}
}

func TestAuth(t *testing.T) {
	c := &echoCaller{results: map[string]json.RawMessage{"RPCCount": json.RawMessage(`{"count":1}`)}}
	h := New(c, Config{AuthEnabled: true, Logger: discard(), Tokens: map[string]Token{
		"read":  {Endpoints: []string{"/restful/rpc"}, Processes: []string{"local"}},
		"all":   {Endpoints: []string{"*"}},
		"under": {Endpoints: []string{"/restful/*"}, Processes: []string{"*"}},
	}})
	cases := []struct {
		name, method, path, token string
		status                    int
	}{
		{"no token", "POST", "/restful/rpc", "", 401},
		{"unknown token", "POST", "/restful/rpc", "nope", 401},
		{"allowed", "POST", "/restful/rpc", "read", 200},
		{"other process", "POST", "/restful/rpc?target=broker", "read", 200},
		{"metrics not listed", "GET", "/metrics", "read", 403},
		{"metrics for all", "GET", "/metrics", "all", 200},
		{"prefix endpoint", "POST", "/restful/rpc", "under", 200},
		{"prefix excludes metrics", "GET", "/metrics", "under", 403},
		{"health open", "GET", "/restful/health", "", 200},
		{"options pass auth (no CORS: 405)", "OPTIONS", "/restful/rpc", "", 405},
	}
	for _, tc := range cases {
		var hdr []string
		if tc.token != "" {
			hdr = []string{"Authorization", "Bearer " + tc.token}
		}
		resp, env := serve(t, h, tc.method, tc.path, `{"method":"RPCCount","target":"local"}`, hdr...)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %+v, want %d", tc.name, resp.StatusCode, env, tc.status)
		}
		if tc.status >= 401 && tc.status <= 403 && env.Retcode != tc.status {
			t.Errorf("%s: retcode %d", tc.name, env.Retcode)
		}
	}
	// Allowed endpoint, process outside the list.
	resp, env := serve(t, h, "POST", "/restful/rpc", `{"method":"RPCCount"}`, "Authorization", "Bearer read")
	if resp.StatusCode != 403 || env.Retcode != 403 || !strings.Contains(env.Message, `"broker"`) {
		t.Errorf("broker with a local-only token: %d %+v", resp.StatusCode, env)
	}
}

func TestCORS(t *testing.T) {
	h := New(&echoCaller{}, Config{CORSOrigins: []string{"https://a.example"}, Logger: discard()})
	for origin, want := range map[string]string{"https://a.example": "https://a.example", "https://b.example": ""} {
		resp, _ := serve(t, h, "OPTIONS", "/restful/rpc", "", "Origin", origin, "Access-Control-Request-Method", "POST")
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != want {
			t.Errorf("origin %s: %d %v", origin, resp.StatusCode, resp.Header)
		}
	}
	h = New(&echoCaller{}, Config{Logger: discard()}) // CORS off: no headers
	resp, _ := serve(t, h, "GET", "/restful/health", "", "Origin", "https://a.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS off but %v", resp.Header)
	}
}

func TestMetricLabelsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := New(&echoCaller{}, Config{Registry: reg, Logger: discard()})
	for i := range maxLabels + 50 {
		serve(t, h, "POST", "/restful/rpc", `{"method":"RPCm`+string(rune('a'+i%26))+strings.Repeat("x", i)+`","target":"t`+strings.Repeat("y", i)+`"}`)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "v2e_http_rpc") && len(mf.GetMetric()) > maxLabels+2 {
			t.Errorf("%s has %d series", mf.GetName(), len(mf.GetMetric()))
		}
	}
}

func TestPlatformCollectorSkipsFailures(t *testing.T) {
	c := &echoCaller{results: map[string]json.RawMessage{
		"RPCListProcesses":    json.RawMessage(`{"processes":[{"id":"local","status":"running","restarts":2},{"id":"meta","status":"failed","restarts":5}]}`),
		"RPCGetEtlTree":       json.RawMessage(`{"macro_fsm":{"state":"ORCHESTRATING"},"providers":[{"id":"cve","state":"RUNNING","processed_count":7}],"total_checkpoints":3}`),
		"RPCGetSessionStatus": json.RawMessage(`{"has_session":true,"state":"running","data_type":"cve","fetched_count":10,"stored_count":9,"error_count":1,"progress":{"percent":42.5}}`),
		"RPCGetMessageStats":  json.RawMessage(`[]`), // wrong shape: skipped
	}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(&PlatformCollector{Caller: c, Timeout: time.Second, Logger: discard()})
	want := map[string]float64{
		`v2e_process_restarts_total{process="meta"}`:                         5,
		`v2e_process_up{process="meta",status="failed"}`:                     0,
		`v2e_process_up{process="local",status="running"}`:                   1,
		`v2e_etl_macro_state{state="ORCHESTRATING"}`:                         1,
		`v2e_etl_provider_state{provider="cve",state="RUNNING"}`:             1,
		`v2e_etl_provider_processed_total{provider="cve"}`:                   7,
		`v2e_etl_checkpoints_total`:                                          3,
		`v2e_session_active{data_type="cve",state="running"}`:                1,
		`v2e_session_items{data_type="cve",kind="stored"}`:                   9,
		`v2e_session_progress_percent{data_type="cve"}`:                      42.5,
		`v2e_scrape_source_up{method="RPCGetKernelMetrics",target="broker"}`: 0,
		`v2e_scrape_source_up{method="RPCGetMessageStats",target="broker"}`:  0,
		`v2e_scrape_source_up{method="RPCListProcesses",target="broker"}`:    1,
	}
	got := gatherText(t, reg)
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s = %v, want %v", series, got[series], v)
		}
	}
}

// gatherText flattens a registry's samples into "name{labels}" → value.
func gatherText(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// feedCVE is one cve object of the bundled 2026 NVD feed, as local returns it.
func feedCVE(b *testing.B) json.RawMessage {
	data, err := os.ReadFile(filepath.Join("..", "..", "assets", "nvd", "nvdcve-2.0-2026.json"))
	if err != nil {
		b.Fatal(err)
	}
	var feed struct {
		Vulnerabilities []struct {
			CVE json.RawMessage `json:"cve"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &feed); err != nil {
		b.Fatal(err)
	}
	v := feed.Vulnerabilities[len(feed.Vulnerabilities)/2].CVE
	res, _ := json.Marshal(map[string]any{"cve": v, "id": "x"})
	return res
}

// BenchmarkRPCHandler is the gateway's own cost for one RPCGetCVEByID: body
// decode, auth off, the call (answered at once) and the envelope.
func BenchmarkRPCHandler(b *testing.B) {
	c := &echoCaller{results: map[string]json.RawMessage{"RPCGetCVEByID": feedCVE(b)}}
	h := New(c, Config{Logger: discard()})
	body := `{"method":"RPCGetCVEByID","target":"local","params":{"cve_id":"CVE-2026-0001"}}`
	b.ReportAllocs()
	for b.Loop() {
		c.mu.Lock()
		c.calls = c.calls[:0]
		c.mu.Unlock()
		req := httptest.NewRequest("POST", "/restful/rpc", strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
