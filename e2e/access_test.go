package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

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
	if len(cat.Broker) < 9 {
		t.Errorf("the broker lists %d methods of its own, want at least 9", len(cat.Broker))
	}
	for _, m := range cat.Broker {
		if m.Result == "" || m.Doc == "" {
			t.Errorf("broker method %s has no result or doc in the catalogue", m.Name)
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
	if err != nil {
		t.Fatalf("%v; generate it with: %s", err, apidoc.RegenCommand)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/api.md is not current; regenerate it with: %s\n%s", apidoc.RegenCommand, lineDiff(string(want), string(got), 30))
	}
}

// lineDiff lists up to max lines only in a ("-") or only in b ("+").
func lineDiff(a, b string, max int) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for l := range strings.SplitSeq(s, "\n") {
			m[l]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	var out []string
	for _, side := range []struct {
		sign        string
		text        string
		this, other map[string]int
	}{{"-", a, ca, cb}, {"+", b, cb, ca}} {
		for l := range strings.SplitSeq(side.text, "\n") {
			if side.this[l] > side.other[l] && len(out) < max {
				out = append(out, side.sign+" "+l)
				side.this[l]--
			}
		}
	}
	return strings.Join(out, "\n")
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
	p := StartWithToken(t, authConfig(t), "tok-admin")
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

// badInput is one malformed request to /restful/rpc and the answer it must get.
type badInput struct {
	name    string
	method  string // HTTP method; POST when empty
	body    string
	header  []string
	status  int
	retcode int
	msg     string // the envelope's message contains it
}

func badInputCases() []badInput {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	deepObj := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	big := func(n int) string { return `{"method":"RPCNoSuch","params":{"p":"` + strings.Repeat("a", n) + `"}}` }
	local := func(method, params string) string {
		return `{"method":"` + method + `","target":"local","params":` + params + `}`
	}
	const (
		notObject = "Invalid request: body must be a JSON object"
		malformed = "Invalid request: malformed JSON"
		noMethod  = "Invalid request: method is required"
		noHandler = "no handler found for method: "
		outside   = "outside the assets folder"
	)
	return []badInput{
		// Not JSON, or not an object.
		{name: "empty body", body: ``, status: 400, retcode: 400, msg: "Invalid request: empty body"},
		{name: "blank body", body: " \n\t ", status: 400, retcode: 400, msg: "Invalid request: empty body"},
		{name: "plain text", body: `hello`, status: 400, retcode: 400, msg: notObject},
		{name: "null", body: `null`, status: 400, retcode: 400, msg: notObject},
		{name: "true", body: `true`, status: 400, retcode: 400, msg: notObject},
		{name: "number", body: `42`, status: 400, retcode: 400, msg: notObject},
		{name: "string", body: `"RPCListProcesses"`, status: 400, retcode: 400, msg: notObject},
		{name: "empty array", body: `[]`, status: 400, retcode: 400, msg: notObject},
		{name: "array of requests", body: `[{"method":"RPCListProcesses"}]`, status: 400, retcode: 400, msg: notObject},
		{name: "byte order mark", body: "\xef\xbb\xbf{\"method\":\"RPCListProcesses\"}", status: 400, retcode: 400, msg: notObject},
		{name: "gzip bytes", body: "\x1f\x8b\x08\x00\x00\x00\x00\x00", header: []string{"Content-Encoding", "gzip"}, status: 400, retcode: 400, msg: notObject},
		{name: "open brace", body: `{`, status: 400, retcode: 400, msg: malformed},
		{name: "truncated", body: `{"method":"RPCListProcesses"`, status: 400, retcode: 400, msg: malformed},
		{name: "trailing brace", body: `{"method":"RPCListProcesses"}}`, status: 400, retcode: 400, msg: malformed},
		{name: "two objects", body: `{"method":"RPCListProcesses"} {"method":"RPCListProcesses"}`, status: 400, retcode: 400, msg: malformed},
		{name: "unquoted key", body: `{method:"RPCListProcesses"}`, status: 400, retcode: 400, msg: malformed},
		{name: "single quotes", body: `{'method':'RPCListProcesses'}`, status: 400, retcode: 400, msg: malformed},
		{name: "trailing comma", body: `{"method":"RPCListProcesses",}`, status: 400, retcode: 400, msg: malformed},
		{name: "comment", body: `{"method":"RPCListProcesses" /* hi */}`, status: 400, retcode: 400, msg: malformed},
		{name: "NaN", body: local("RPCCountCVEs", `{"a":NaN}`), status: 400, retcode: 400, msg: malformed},
		{name: "raw control character", body: "{\"method\":\"RPC\x01\"}", status: 400, retcode: 400, msg: malformed},
		{name: "bad escape", body: `{"method":"RPC\q"}`, status: 400, retcode: 400, msg: malformed},
		// Missing or mistyped method.
		{name: "empty object", body: `{}`, status: 400, retcode: 400, msg: noMethod},
		{name: "params only", body: `{"params":{}}`, status: 400, retcode: 400, msg: noMethod},
		{name: "method empty", body: `{"method":""}`, status: 400, retcode: 400, msg: noMethod},
		{name: "method null", body: `{"method":null}`, status: 400, retcode: 400, msg: noMethod},
		{name: "method number", body: `{"method":5}`, status: 400, retcode: 400, msg: noMethod},
		{name: "method bool", body: `{"method":true}`, status: 400, retcode: 400, msg: noMethod},
		{name: "method array", body: `{"method":["RPCListProcesses"]}`, status: 400, retcode: 400, msg: noMethod},
		{name: "method object", body: `{"method":{"name":"RPCListProcesses"}}`, status: 400, retcode: 400, msg: noMethod},
		{name: "method capitalised key", body: `{"Method":"RPCListProcesses"}`, status: 400, retcode: 400, msg: noMethod},
		// Mistyped target and params.
		{name: "target number", body: `{"method":"RPCListProcesses","target":5}`, status: 400, retcode: 400, msg: "Invalid request: target must be a string"},
		{name: "target bool", body: `{"method":"RPCListProcesses","target":true}`, status: 400, retcode: 400, msg: "Invalid request: target must be a string"},
		{name: "target array", body: `{"method":"RPCListProcesses","target":["local"]}`, status: 400, retcode: 400, msg: "Invalid request: target must be a string"},
		{name: "target object", body: `{"method":"RPCListProcesses","target":{}}`, status: 400, retcode: 400, msg: "Invalid request: target must be a string"},
		{name: "params array", body: `{"method":"RPCListProcesses","params":[1]}`, status: 400, retcode: 400, msg: "Invalid request: params must be a JSON object"},
		{name: "params string", body: `{"method":"RPCListProcesses","params":"x"}`, status: 400, retcode: 400, msg: "Invalid request: params must be a JSON object"},
		{name: "params number", body: `{"method":"RPCListProcesses","params":5}`, status: 400, retcode: 400, msg: "Invalid request: params must be a JSON object"},
		{name: "params bool", body: `{"method":"RPCListProcesses","params":false}`, status: 400, retcode: 400, msg: "Invalid request: params must be a JSON object"},
		// Accepted forms (controls): null params and target mean absent.
		{name: "params null", body: `{"method":"RPCListProcesses","params":null}`, status: 200, retcode: 0, msg: "success"},
		{name: "target null", body: `{"method":"RPCListProcesses","target":null}`, status: 200, retcode: 0, msg: "success"},
		{name: "target empty", body: `{"method":"RPCListProcesses","target":""}`, status: 200, retcode: 0, msg: "success"},
		{name: "duplicate method key", body: `{"method":"RPCNoSuch","method":"RPCListProcesses"}`, status: 200, retcode: 0, msg: "success"},
		{name: "text/plain content type", body: `{"method":"RPCListProcesses"}`, header: []string{"Content-Type", "text/plain"}, status: 200, retcode: 0, msg: "success"},
		// Unknown targets and methods.
		{name: "unknown target", body: `{"method":"RPCx","target":"nowhere"}`, status: 200, retcode: 500, msg: `target process "nowhere" not found`},
		{name: "target wrong case", body: `{"method":"RPCListProcesses","target":"BROKER"}`, status: 200, retcode: 500, msg: `target process "BROKER" not found`},
		{name: "target path", body: `{"method":"RPCCountCVEs","target":"../local"}`, status: 200, retcode: 500, msg: `target process "../local" not found`},
		{name: "unknown broker method", body: `{"method":"RPCNoSuch"}`, status: 200, retcode: 500, msg: noHandler + "RPCNoSuch"},
		{name: "unknown local method", body: `{"method":"RPCNoSuch","target":"local"}`, status: 200, retcode: 500, msg: noHandler + "RPCNoSuch"},
		{name: "unknown remote method", body: `{"method":"RPCNoSuch","target":"remote"}`, status: 200, retcode: 500, msg: noHandler + "RPCNoSuch"},
		{name: "unknown meta method", body: `{"method":"RPCNoSuch","target":"meta"}`, status: 200, retcode: 500, msg: noHandler + "RPCNoSuch"},
		{name: "unknown sysmon method", body: `{"method":"RPCNoSuch","target":"sysmon"}`, status: 200, retcode: 500, msg: noHandler + "RPCNoSuch"},
		{name: "access has no methods", body: `{"method":"RPCListProcesses","target":"access"}`, status: 200, retcode: 500, msg: noHandler + "RPCListProcesses"},
		{name: "method of another process", body: `{"method":"RPCGetSysMetrics","target":"local"}`, status: 200, retcode: 500, msg: noHandler + "RPCGetSysMetrics"},
		{name: "escaped newline in method", body: `{"method":"RPCList\nProcesses"}`, status: 200, retcode: 500, msg: noHandler + "RPCList\nProcesses"},
		{name: "long method name", body: `{"method":"RPC` + strings.Repeat("x", 100000) + `"}`, status: 200, retcode: 500, msg: noHandler + "RPCxxx"},
		// Invalid UTF-8: decoded as U+FFFD, never echoed as invalid JSON.
		{name: "invalid utf-8 method", body: "{\"method\":\"RPC\xff\xfe\"}", status: 200, retcode: 500, msg: noHandler + "RPC\ufffd"},
		{name: "invalid utf-8 param", body: local("RPCGetCVEByID", "{\"cve_id\":\"CVE-\xc3\x28\"}"), status: 200, retcode: 500, msg: "cve_id"},
		{name: "invalid utf-8 key", body: local("RPCCountCVEs", "{\"\xff\":1}"), status: 200, retcode: 0, msg: "success"},
		// Params of the wrong type or value, named by the service.
		{name: "cve_id number", body: local("RPCGetCVEByID", `{"cve_id":5}`), status: 200, retcode: 500, msg: `field "cve_id"`},
		{name: "cve_id missing", body: local("RPCGetCVEByID", `{}`), status: 200, retcode: 500, msg: "cve_id is required"},
		{name: "cve_id malformed", body: local("RPCGetCVEByID", `{"cve_id":"CVE-XX-1"}`), status: 200, retcode: 500, msg: "cve_id"},
		{name: "limit string", body: local("RPCListCVEs", `{"limit":"ten"}`), status: 200, retcode: 500, msg: `field "limit"`},
		{name: "limit negative", body: local("RPCListCVEs", `{"limit":-1}`), status: 200, retcode: 500, msg: "limit"},
		{name: "limit overflow", body: local("RPCListCVEs", `{"limit":1e400}`), status: 200, retcode: 500, msg: `field "limit"`},
		{name: "cves not a list", body: local("RPCSaveCVEs", `{"cves":"x"}`), status: 200, retcode: 500, msg: `cves`},
		{name: "permits without provider", body: `{"method":"RPCRequestPermits","params":{}}`, status: 200, retcode: 500, msg: "provider_id is required"},
		{name: "permits zero", body: `{"method":"RPCRequestPermits","params":{"provider_id":"x","permit_count":0}}`, status: 200, retcode: 500, msg: "permit_count must be greater than 0"},
		{name: "permits string", body: `{"method":"RPCRequestPermits","params":{"provider_id":"x","permit_count":"1"}}`, status: 200, retcode: 500, msg: `field "permit_count"`},
		{name: "session id number", body: `{"method":"RPCStartSession","target":"meta","params":{"session_id":5}}`, status: 200, retcode: 500, msg: `field "session_id"`},
		{name: "history string", body: `{"method":"RPCGetSysMetrics","target":"sysmon","params":{"history":"yes"}}`, status: 200, retcode: 500, msg: `field "history"`},
		// Import paths outside the assets folder.
		{name: "cwe path traversal", body: local("RPCImportCWEs", `{"path":"../../etc/passwd"}`), status: 200, retcode: 500, msg: outside},
		{name: "cwe absolute path", body: local("RPCImportCWEs", `{"path":"/etc/passwd"}`), status: 200, retcode: 500, msg: outside},
		{name: "cwe path through a folder", body: local("RPCImportCWEs", `{"path":"cwe/../../go.mod"}`), status: 200, retcode: 500, msg: outside},
		{name: "capec path traversal", body: local("RPCImportCAPECs", `{"path":"../../../../etc/shadow"}`), status: 200, retcode: 500, msg: outside},
		{name: "attack path traversal", body: local("RPCImportATTACKs", `{"path":"../../etc/passwd"}`), status: 200, retcode: 500, msg: outside},
		{name: "capec xsd traversal", body: local("RPCForceImportCAPECs", `{"xsd":"../../etc/passwd"}`), status: 200, retcode: 500, msg: outside},
		{name: "path with NUL", body: local("RPCImportCWEs", `{"path":"cwe/\u0000x"}`), status: 200, retcode: 500, msg: "import path"},
		{name: "url-encoded traversal", body: local("RPCImportCWEs", `{"path":"..%2f..%2fetc%2fpasswd"}`), status: 200, retcode: 500, msg: "import path"},
		// Size and depth.
		{name: "one byte over the limit", body: big(1 << 20), status: 413, retcode: 413, msg: "Invalid request: body exceeds 1048576 bytes"},
		{name: "5 MiB body", body: big(5 << 20), status: 413, retcode: 413, msg: "Invalid request: body exceeds 1048576 bytes"},
		{name: "just under the limit", body: big(1<<20 - 64), status: 200, retcode: 500, msg: noHandler + "RPCNoSuch"},
		{name: "nesting past the decoder's depth", body: local("RPCCountCVEs", `{"a":`+deep(20000)+`}`), status: 400, retcode: 400, msg: "exceeded max depth"},
		{name: "deep objects", body: local("RPCCountCVEs", `{"a":`+deepObj(10001)+`}`), status: 400, retcode: 400, msg: "exceeded max depth"},
		{name: "nesting within depth", body: local("RPCCountCVEs", `{"a":`+deep(5000)+`}`), status: 200, retcode: 0, msg: "success"},
		{name: "many keys", body: local("RPCCountCVEs", manyKeys(30000)), status: 200, retcode: 0, msg: "success"},
		// Wrong HTTP method.
		{name: "GET rpc", method: "GET", status: 405, retcode: 405, msg: "Invalid request: use POST"},
		{name: "PUT rpc", method: "PUT", body: `{"method":"RPCListProcesses"}`, status: 405, retcode: 405, msg: "Invalid request: use POST"},
		{name: "DELETE rpc", method: "DELETE", status: 405, retcode: 405, msg: "Invalid request: use POST"},
		{name: "PATCH rpc", method: "PATCH", body: `{"method":"RPCListProcesses"}`, status: 405, retcode: 405, msg: "Invalid request: use POST"},
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	b.WriteString("}")
	return b.String()
}

// TestAccessBadInput sends malformed requests (one platform, many rows),
// slow-loris headers and bodies alongside, and then checks that every
// service still answers and none was restarted.
func TestAccessBadInput(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	slow := startSlowLoris(t, p.URL)
	cases := badInputCases()
	if len(cases) < 50 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		method := c.method
		if method == "" {
			method = http.MethodPost
		}
		status, _, raw := httpDo(t, method, p.URL+"/restful/rpc", c.body, c.header...)
		checkEnvelope(t, c.name, status, raw, c.status, c.retcode, c.msg)
		if !utf8.Valid(raw) {
			t.Errorf("%s: answer is not valid UTF-8", c.name)
		}
	}
	rawCases := []struct {
		name, request   string
		status, retcode int
		msg             string
	}{
		{"content-length over the limit", "POST /restful/rpc HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{}", 413, 413, "body exceeds 1048576 bytes"},
		{"body shorter than content-length", "POST /restful/rpc HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"method\":\"RPCListProcesses\"}", 400, 400, "Invalid request: cannot read body"},
		{"chunked over the limit", "POST /restful/rpc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("100000\r\n"+strings.Repeat("a", 0x100000)+"\r\n", 2) + "0\r\n\r\n", 413, 413, "body exceeds 1048576 bytes"},
		{"bad chunk encoding", "POST /restful/rpc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, 400, "Invalid request: cannot read body"},
		{"path traversal in URL", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, ""},
	}
	for _, c := range rawCases {
		status, body := rawHTTP(t, p.URL, c.request, true)
		if c.status == 0 { // a file outside static_dir must never be served
			if strings.Contains(body, "root:") {
				t.Errorf("%s: served /etc/passwd", c.name)
			}
			continue
		}
		checkEnvelope(t, c.name, status, []byte(body), c.status, c.retcode, c.msg)
	}
	slow.check(t)
	checkAllRunning(t, p)
}

// checkAllRunning fails unless every process is running, none restarted,
// and each service answers a request.
func checkAllRunning(t *testing.T, p *Platform) {
	t.Helper()
	procs := p.Processes()
	if len(procs) != 5 {
		t.Errorf("%d processes", len(procs))
	}
	for _, pr := range procs {
		if pr.Status != "running" || pr.Restarts != 0 {
			t.Errorf("after bad input: %+v", pr)
		}
	}
	p.MustCall("local", "RPCCountCVEs", nil, nil)
	p.MustCall("meta", "RPCGetSessionStatus", nil, nil)
	p.MustCall("sysmon", "RPCGetSysMetrics", nil, nil)
	_, env := p.Post(`{"method":"RPCNoSuch","target":"remote"}`)
	if !strings.Contains(env.Message, "no handler found") {
		t.Errorf("remote: %+v", env)
	}
}

// rawHTTP writes request on a new connection and reads one response.
func rawHTTP(t *testing.T, base, request string, closeWrite bool) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	go func() { // the server may answer before it has read everything
		io.WriteString(conn, request)
		if closeWrite {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("reading the answer: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// slowLoris holds connections that send their request too slowly.
type slowLoris struct {
	headers []net.Conn // send half a header, then nothing
	bodies  chan slowResult
	started time.Time
}

type slowResult struct {
	name    string
	status  int
	body    string
	err     error
	elapsed time.Duration
}

const slowHeaderConns = 100

// startSlowLoris opens slowHeaderConns connections that never finish their
// headers, one request whose body stalls half way, and one whose body
// trickles in slowly but completely (which must succeed).
func startSlowLoris(t *testing.T, base string) *slowLoris {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	s := &slowLoris{bodies: make(chan slowResult, 2), started: time.Now()}
	for range slowHeaderConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "POST /restful/rpc HTTP/1.1\r\nHost: x\r\nContent-Le")
		s.headers = append(s.headers, c)
	}
	body := `{"method":"RPCListProcesses"}`
	head := fmt.Sprintf("POST /restful/rpc HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body))
	go s.send(addr, "stalled body", head, body[:10], 0)
	go s.send(addr, "trickled body", head, body, 40*time.Millisecond)
	return s
}

// send writes head, then body a byte every gap (all at once when gap is 0,
// and then stalls), and reads the answer.
func (s *slowLoris) send(addr, name, head, body string, gap time.Duration) {
	r := slowResult{name: name}
	start := time.Now()
	defer func() { r.elapsed = time.Since(start); s.bodies <- r }()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		r.err = err
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(40 * time.Second))
	io.WriteString(c, head)
	if gap == 0 {
		io.WriteString(c, body)
	}
	for i := 0; gap > 0 && i < len(body); i++ {
		time.Sleep(gap)
		if _, err := c.Write([]byte{body[i]}); err != nil {
			r.err = err
			return
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		r.err = err
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r.status, r.body = resp.StatusCode, string(b)
}

// check waits for the slow requests' answers and for the server to drop
// every connection that never finished its headers.
func (s *slowLoris) check(t *testing.T) {
	t.Helper()
	for range 2 {
		r := <-s.bodies
		if r.err != nil {
			t.Errorf("%s: %v after %s", r.name, r.err, r.elapsed)
			continue
		}
		switch r.name {
		case "stalled body":
			checkEnvelope(t, r.name, r.status, []byte(r.body), 408, 408, "body not received within")
		case "trickled body":
			checkEnvelope(t, r.name, r.status, []byte(r.body), 200, 0, "success")
		}
		t.Logf("%s answered after %s", r.name, r.elapsed.Round(time.Millisecond))
	}
	dropped := 0
	for _, c := range s.headers {
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		// net/http answers a plain 400 and closes: there is no request to
		// answer with an envelope.
		b, err := io.ReadAll(c)
		if err == nil && (len(b) == 0 || strings.HasPrefix(string(b), "HTTP/1.1 400 ")) {
			dropped++
		} else if !errors.Is(err, os.ErrDeadlineExceeded) && err != nil {
			dropped++ // reset by the server
		}
	}
	if dropped != len(s.headers) {
		t.Errorf("server dropped %d of %d connections with unfinished headers", dropped, len(s.headers))
	}
	t.Logf("slow-loris connections dropped within %s", time.Since(s.started).Round(time.Millisecond))
}

// TestAccessGracefulShutdown stops the platform while a slow request (a CWE
// import) is in flight: access stops taking connections, the request
// finishes through the broker, and every process stops without a kill.
func TestAccessGracefulShutdown(t *testing.T) {
	cfg := DefaultConfig(t)
	cfg["broker"].(map[string]any)["stop_timeout_seconds"] = 40
	cfg["access"].(map[string]any)["shutdown_timeout_seconds"] = 30
	p := Start(t, cfg)
	type answer struct {
		status int
		env    Envelope
		err    error
		at     time.Time
	}
	done := make(chan answer, 1)
	go func() {
		var a answer
		defer func() { a.at = time.Now(); done <- a }()
		resp, err := http.Post(p.URL+"/restful/rpc", "application/json", strings.NewReader(`{"method":"RPCImportCWEs","target":"local"}`))
		if err != nil {
			a.err = err
			return
		}
		defer resp.Body.Close()
		a.status = resp.StatusCode
		a.err = json.NewDecoder(resp.Body).Decode(&a.env)
	}()
	p.Eventually(20*time.Second, "the import in flight", func() bool {
		var st struct{ Pending int }
		return p.Call("broker", "RPCGetMessageStats", nil, &st) == nil && st.Pending >= 1
	})
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.Eventually(10*time.Second, "new connections refused", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.URL, "http://"), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	a := <-done
	if err := p.Stop(); err != nil {
		t.Fatalf("broker exit: %v", err)
	}
	if a.err != nil || a.status != 200 || a.env.Retcode != 0 || !strings.Contains(string(a.env.Payload), `"count":964`) {
		t.Fatalf("in-flight import: %v %d %+v (payload %.200s)", a.err, a.status, a.env, a.env.Payload)
	}
	if !a.at.After(signalled) {
		t.Fatal("the import answered before the signal: nothing was in flight")
	}
	t.Logf("import answered %s after SIGTERM", a.at.Sub(signalled).Round(time.Millisecond))
	out := p.Output()
	if !strings.Contains(out, "all processes stopped") || strings.Contains(out, "killing it") || strings.Contains(out, "did not stop on SIGTERM") {
		t.Fatalf("unclean stop:\n%s", out)
	}
}

// metricValue returns the value of the sample series (name with labels, as
// printed) in a Prometheus text exposition.
func metricValue(text, series string) (float64, bool) {
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

func scrape(t *testing.T, p *Platform) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	status, _, raw := httpDo(t, "GET", p.URL+"/metrics", "")
	if status != 200 {
		t.Fatalf("/metrics: %d %.300s", status, raw)
	}
	return string(raw), time.Since(start)
}

// TestAccessMetrics checks the platform figures /metrics gathers at scrape
// time, a restart showing up, and a frozen source being skipped.
func TestAccessMetrics(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	p.MustCall("local", "RPCCountCVEs", nil, nil)
	pids := map[string]int{"sysmon": p.RunningPID(t, "sysmon"), "meta": p.RunningPID(t, "meta")}
	text, _ := scrape(t, p)
	want := map[string]func(float64) bool{
		`v2e_http_rpc_requests_total{method="RPCCountCVEs",retcode="0"}`:     func(v float64) bool { return v == 1 },
		`v2e_http_rpc_target_duration_seconds_count{target="local"}`:         func(v float64) bool { return v == 1 },
		`v2e_broker_messages_total{kind="request",process="access"}`:         func(v float64) bool { return v >= 2 },
		`v2e_broker_messages_total{kind="event",process="local"}`:            func(v float64) bool { return v >= 1 },
		`v2e_broker_pending_requests`:                                        func(v float64) bool { return v >= 0 },
		`v2e_process_restarts_total{process="sysmon"}`:                       func(v float64) bool { return v == 0 },
		`v2e_process_up{process="local",status="running"}`:                   func(v float64) bool { return v == 1 },
		`v2e_kernel_metric{field="total_permits"}`:                           func(v float64) bool { return v == 10 },
		`v2e_kernel_metric{field="available_permits"}`:                       func(v float64) bool { return v == 10 },
		`v2e_etl_provider_state{provider="cve",state="IDLE"}`:                func(v float64) bool { return v == 1 },
		`v2e_etl_provider_processed_total{provider="cve"}`:                   func(v float64) bool { return v == 0 },
		`v2e_session_active{data_type="",state=""}`:                          func(v float64) bool { return v == 0 },
		`v2e_scrape_source_up{method="RPCGetMessageStats",target="broker"}`:  func(v float64) bool { return v == 1 },
		`v2e_scrape_source_up{method="RPCListProcesses",target="broker"}`:    func(v float64) bool { return v == 1 },
		`v2e_scrape_source_up{method="RPCGetKernelMetrics",target="broker"}`: func(v float64) bool { return v == 1 },
		`v2e_scrape_source_up{method="RPCGetSessionStatus",target="meta"}`:   func(v float64) bool { return v == 1 },
		`v2e_scrape_source_up{method="RPCGetEtlTree",target="meta"}`:         func(v float64) bool { return v == 1 },
	}
	for series, ok := range want {
		if v, found := metricValue(text, series); !found || !ok(v) {
			t.Errorf("%s: %v (found %v)", series, v, found)
		}
	}
	if _, found := metricValue(text, `v2e_broker_target_p99_latency_ms{target="local"}`); !found {
		t.Error("no p99 latency for target local")
	}

	// A restart shows up.
	signalProcess(t, pids["sysmon"], syscall.SIGKILL)
	p.Eventually(20*time.Second, "sysmon restart counted", func() bool {
		text, _ := scrape(t, p)
		v, _ := metricValue(text, `v2e_process_restarts_total{process="sysmon"}`)
		up, _ := metricValue(text, `v2e_process_up{process="sysmon",status="running"}`)
		return v == 1 && up == 1
	})

	// A frozen meta is skipped after the scrape timeout; the rest answers.
	signalProcess(t, pids["meta"], syscall.SIGSTOP)
	// The signal is delivered asynchronously: scrape once meta is stopped.
	p.Eventually(5*time.Second, "meta stopped", func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pids["meta"]))
		i := bytes.LastIndexByte(stat, ')')
		return err == nil && i > 0 && i+2 < len(stat) && stat[i+2] == 'T'
	})
	text, took := scrape(t, p)
	signalProcess(t, pids["meta"], syscall.SIGCONT)
	for series, wantV := range map[string]float64{
		`v2e_scrape_source_up{method="RPCGetEtlTree",target="meta"}`:       0,
		`v2e_scrape_source_up{method="RPCGetSessionStatus",target="meta"}`: 0,
		`v2e_scrape_source_up{method="RPCListProcesses",target="broker"}`:  1,
	} {
		if v, found := metricValue(text, series); !found || v != wantV {
			t.Errorf("meta frozen: %s = %v (found %v), want %v", series, v, found, wantV)
		}
	}
	if strings.Contains(text, "v2e_etl_provider_state") {
		t.Error("provider states from a frozen meta")
	}
	if took > 10*time.Second {
		t.Errorf("scrape with meta frozen took %s", took)
	}
	t.Logf("scrape with meta frozen took %s", took.Round(time.Millisecond))
}
