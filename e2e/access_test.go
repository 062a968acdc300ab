package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/apidoc"
)

var update = flag.Bool("update", false, "rewrite docs/api.md from the running platform's RPCListMethods (TestAPIDoc)")

// TestAPIDoc starts the platform, renders the method catalogue it announces
// and fails when the committed docs/api.md differs. Regenerate it with
// go test ./e2e -run TestAPIDoc -update
func TestAPIDoc(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	var raw json.RawMessage
	p.MustCall("broker", "RPCListMethods", nil, &raw)
	cat, err := apidoc.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"local", "remote", "meta", "sysmon"} {
		if len(cat.Processes[id]) == 0 {
			t.Errorf("%s announced no method", id)
		}
	}
	got := apidoc.Render(cat, apidoc.RegenCommand)
	path := filepath.Join(repoRoot, "docs", "api.md")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("docs/api.md is not current (%v); regenerate it with: %s", err, apidoc.RegenCommand)
	}
}

// authConfig is DefaultConfig with token authentication and CORS on.
func authConfig(t *testing.T) map[string]any {
	cfg := DefaultConfig(t)
	cfg["broker"].(map[string]any)["authentication"] = map[string]any{
		"enabled": true,
		"tokens": map[string]any{
			"tok-read":    map[string]any{"endpoints": []string{"/restful/rpc"}, "processes": []string{"local"}},
			"tok-admin":   map[string]any{"endpoints": []string{"*"}, "processes": []string{"*"}},
			"tok-metrics": map[string]any{"endpoints": []string{"/metrics"}},
		},
	}
	cfg["access"].(map[string]any)["cors_origins"] = []string{"https://ui.example"}
	return cfg
}

// startWithToken is Start for a platform with authentication on: the
// harness's Call sends no token, so it waits with one.
func startWithToken(t *testing.T, cfg map[string]any, token string) *Platform {
	t.Helper()
	dir := t.TempDir()
	data, _ := json.MarshalIndent(cfg, "", "  ")
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Platform{t: t, Dir: dir, URL: "http://" + cfg["server"].(map[string]any)["address"].(string), Config: cfg,
		out: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(filepath.Join(binDir, "broker"), cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0 halt_on_error=1")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("platform output:\n%s", p.out.String())
		}
	})
	p.Eventually(60*time.Second, "every process running", func() bool {
		req, _ := http.NewRequest("POST", p.URL+"/restful/rpc", strings.NewReader(`{"method":"RPCListProcesses"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var env struct {
			Payload struct{ Processes []struct{ Status string } }
		}
		if json.NewDecoder(resp.Body).Decode(&env) != nil || len(env.Payload.Processes) == 0 {
			return false
		}
		for _, pr := range env.Payload.Processes {
			if pr.Status != "running" {
				return false
			}
		}
		return true
	})
	return p
}

// httpDo sends one request and returns the status, headers and body.
func httpDo(t *testing.T, method, url, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// checkEnvelope fails unless raw is an envelope with retcode and a message
// containing msg and a null payload (for errors).
func checkEnvelope(t *testing.T, name string, status int, raw []byte, wantStatus, wantRetcode int, msg string) {
	t.Helper()
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Errorf("%s: status %d, body %.200q is not an envelope: %v", name, status, raw, err)
		return
	}
	if status != wantStatus || env.Retcode != wantRetcode || !strings.Contains(env.Message, msg) {
		t.Errorf("%s: got %d %d %q, want %d %d containing %q", name, status, env.Retcode, env.Message, wantStatus, wantRetcode, msg)
	}
	if wantRetcode != 0 && string(env.Payload) != "null" {
		t.Errorf("%s: error payload %s, want null", name, env.Payload)
	}
}

func TestAccessAuthAndCORS(t *testing.T) {
	p := startWithToken(t, authConfig(t), "tok-admin")
	rpcURL := p.URL + "/restful/rpc"
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	count := `{"method":"RPCCountCVEs","target":"local"}`
	cases := []struct {
		name, method, path, body string
		header                   []string
		status, retcode          int
		msg                      string
	}{
		{"no token", "POST", "/restful/rpc", count, nil, 401, 401, "Unauthorized"},
		{"wrong token", "POST", "/restful/rpc", count, bearer("tok-nope"), 401, 401, "Unauthorized"},
		{"token prefix only", "POST", "/restful/rpc", count, bearer("tok-rea"), 401, 401, "Unauthorized"},
		{"token with suffix", "POST", "/restful/rpc", count, bearer("tok-readx"), 401, 401, "Unauthorized"},
		{"empty bearer", "POST", "/restful/rpc", count, []string{"Authorization", "Bearer "}, 401, 401, "Unauthorized"},
		{"basic scheme", "POST", "/restful/rpc", count, []string{"Authorization", "Basic dG9rLXJlYWQ6"}, 401, 401, "Unauthorized"},
		{"bare token", "POST", "/restful/rpc", count, []string{"Authorization", "tok-read"}, 401, 401, "Unauthorized"},
		{"allowed target", "POST", "/restful/rpc", count, bearer("tok-read"), 200, 0, "success"},
		{"target broker not allowed", "POST", "/restful/rpc", `{"method":"RPCListProcesses","target":"broker"}`, bearer("tok-read"), 403, 403, `may not call process "broker"`},
		{"default target is broker", "POST", "/restful/rpc", `{"method":"RPCListProcesses"}`, bearer("tok-read"), 403, 403, `may not call process "broker"`},
		{"target sysmon not allowed", "POST", "/restful/rpc", `{"method":"RPCGetSysMetrics","target":"sysmon"}`, bearer("tok-read"), 403, 403, `may not call process "sysmon"`},
		{"metrics not listed", "GET", "/metrics", "", bearer("tok-read"), 403, 403, "may not use /metrics"},
		{"metrics without token", "GET", "/metrics", "", nil, 401, 401, "Unauthorized"},
		{"rpc with metrics token", "POST", "/restful/rpc", count, bearer("tok-metrics"), 403, 403, "may not use /restful/rpc"},
		{"admin calls broker", "POST", "/restful/rpc", `{"method":"RPCListProcesses"}`, bearer("tok-admin"), 200, 0, "success"},
		{"bad body still needs a token", "POST", "/restful/rpc", `nope`, nil, 401, 401, "Unauthorized"},
		{"bad body with token", "POST", "/restful/rpc", `nope`, bearer("tok-read"), 400, 400, "Invalid request"},
	}
	for _, c := range cases {
		status, hdr, raw := httpDo(t, c.method, p.URL+c.path, c.body, c.header...)
		checkEnvelope(t, c.name, status, raw, c.status, c.retcode, c.msg)
		if status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without WWW-Authenticate: Bearer", c.name)
		}
	}
	// Health stays open; metrics answer the tokens that list them.
	if status, _, raw := httpDo(t, "GET", p.URL+"/restful/health", ""); status != 200 || !strings.Contains(string(raw), `"ok"`) {
		t.Errorf("health without token: %d %s", status, raw)
	}
	for _, tok := range []string{"tok-metrics", "tok-admin"} {
		status, _, raw := httpDo(t, "GET", p.URL+"/metrics", "", bearer(tok)...)
		if status != 200 || !strings.Contains(string(raw), `v2e_http_rpc_requests_total{method="(invalid)",retcode="401"}`) {
			t.Errorf("/metrics with %s: %d %.300s", tok, status, raw)
		}
	}

	// CORS: the preflight needs no token; only the configured origin is echoed.
	preflight := func(origin string) (int, http.Header) {
		status, hdr, _ := httpDo(t, "OPTIONS", rpcURL, "", "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
		return status, hdr
	}
	status, hdr := preflight("https://ui.example")
	if status != 204 || hdr.Get("Access-Control-Allow-Origin") != "https://ui.example" ||
		!strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(hdr.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("allowed preflight: %d %v", status, hdr)
	}
	status, hdr = preflight("https://evil.example")
	if hdr.Get("Access-Control-Allow-Origin") != "" || hdr.Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("unallowed preflight granted: %d %v", status, hdr)
	}
	status, hdr, raw := httpDo(t, "POST", rpcURL, count, "Origin", "https://ui.example", "Authorization", "Bearer tok-read")
	checkEnvelope(t, "cors post", status, raw, 200, 0, "success")
	if hdr.Get("Access-Control-Allow-Origin") != "https://ui.example" || hdr.Get("Vary") != "Origin" {
		t.Errorf("allowed origin POST: %v", hdr)
	}
	_, hdr, _ = httpDo(t, "POST", rpcURL, count, "Origin", "https://evil.example", "Authorization", "Bearer tok-read")
	if hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("unallowed origin POST got %q", hdr.Get("Access-Control-Allow-Origin"))
	}
}
