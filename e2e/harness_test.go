// Package e2e drives the real platform: the binaries are built once in
// TestMain, each test starts the real broker with a config of its own in a
// temporary folder, and talks to it over HTTP on a free loopback port.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the binaries built by TestMain.
var binDir string

// repoRoot is the project's root folder.
var repoRoot string

var binaries = []string{"broker", "access", "local", "remote", "meta", "sysmon", "nvdserver"}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	dir, err := os.MkdirTemp("", "v2e-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	args := []string{"build", "-o", dir + "/"}
	// The services' packages are race-tested in-process by go test -race;
	// the end-to-end binaries are built without the detector (SQLite compiled
	// to Go runs several times slower under it) unless V2E_E2E_RACE=1.
	if os.Getenv("V2E_E2E_RACE") == "1" {
		args = append(args, "-race")
	}
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(repoRoot, "cmd", b)); err == nil {
			args = append(args, "./cmd/"+b)
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the platform:", err)
		return 1
	}
	return m.Run()
}

// Platform is one running broker with its processes.
type Platform struct {
	t      testing.TB
	Dir    string
	URL    string
	Config map[string]any
	// Token, when set, is sent as a bearer token by Call.
	Token  string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// DefaultConfig returns a config for the five services in dir with a free
// port. Tests adjust it before Start.
func DefaultConfig(t testing.TB) map[string]any {
	proc := func(id string) map[string]any {
		return map[string]any{"id": id, "command": filepath.Join(binDir, id), "rpc": true, "restart": true, "max_restarts": -1}
	}
	return map[string]any{
		"server": map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", freePort(t))},
		"broker": map[string]any{
			"log_file":             "logs/broker.log",
			"processes":            []any{proc("access"), proc("local"), proc("remote"), proc("meta"), proc("sysmon")},
			"stop_timeout_seconds": 8,
		},
		"logging": map[string]any{"level": "debug"},
		"access":  map[string]any{"static_dir": filepath.Join(repoRoot, "website", "out"), "rpc_timeout_seconds": 120},
		"meta":    map[string]any{"startup_imports": false},
		"remote":  map[string]any{"nvd_base_url": "http://127.0.0.1:9/rest/json/cves/2.0"},
		"assets": map[string]any{
			"dir":            filepath.Join(repoRoot, "assets"),
			"cwe_raw_path":   filepath.Join(repoRoot, "assets", "cwe", "cwec_v4.15.xml.zip"),
			"capec_xml_path": filepath.Join(repoRoot, "assets", "capec", "capec_contents_latest.xml"),
			"capec_xsd_path": filepath.Join(repoRoot, "assets", "capec", "capec_schema_latest.xsd"),
			"attack_dir":     filepath.Join(repoRoot, "assets", "attack"),
		},
	}
}

// Start writes cfg to a temporary folder, starts the broker there and waits
// until /restful/health answers and every process is running.
func Start(t testing.TB, cfg map[string]any) *Platform { return StartWithToken(t, cfg, "") }

// StartWithToken is Start for a platform with authentication on: Call sends
// token as a bearer token.
func StartWithToken(t testing.TB, cfg map[string]any, token string) *Platform {
	t.Helper()
	dir := t.TempDir()
	data, _ := json.MarshalIndent(cfg, "", "  ")
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	server := cfg["server"].(map[string]any)
	p := &Platform{t: t, Dir: dir, URL: "http://" + server["address"].(string), Config: cfg, Token: token, out: &syncBuffer{}, exited: make(chan error, 1)}
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
	p.WaitRunning(60 * time.Second)
	return p
}

// WaitRunning waits until every configured process is running.
func (p *Platform) WaitRunning(d time.Duration) {
	p.t.Helper()
	p.Eventually(d, "every process running", func() bool {
		var res struct {
			Processes []struct{ ID, Status string }
		}
		if err := p.Call("broker", "RPCListProcesses", nil, &res); err != nil {
			return false
		}
		for _, pr := range res.Processes {
			if pr.Status != "running" {
				return false
			}
		}
		return len(res.Processes) > 0
	})
}

// Stop sends SIGTERM to the broker and waits for it to exit.
func (p *Platform) Stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
		return err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		p.t.Errorf("broker did not stop within 30s of SIGTERM")
		return fmt.Errorf("broker did not stop")
	}
}

// Output is everything the broker printed so far.
func (p *Platform) Output() string { return p.out.String() }

// Envelope is the /restful/rpc answer.
type Envelope struct {
	Retcode int             `json:"retcode"`
	Message string          `json:"message"`
	Payload json.RawMessage `json:"payload"`
}

// Post sends a raw body to /restful/rpc.
func (p *Platform) Post(body string, header ...string) (int, Envelope) {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/restful/rpc", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("POST /restful/rpc: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		p.t.Fatalf("POST /restful/rpc: status %d, body %q is not an envelope: %v", resp.StatusCode, raw, err)
	}
	return resp.StatusCode, env
}

// Call invokes method on target through HTTP and decodes the payload into
// out; a retcode other than 0 is returned as an error.
func (p *Platform) Call(target, method string, params any, out any) error {
	body, _ := json.Marshal(map[string]any{"method": method, "target": target, "params": params})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/restful/rpc", bytes.NewReader(body))
	if p.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env Envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if env.Retcode != 0 {
		return fmt.Errorf("retcode %d: %s", env.Retcode, env.Message)
	}
	if out != nil {
		return json.Unmarshal(env.Payload, out)
	}
	return nil
}

// MustCall is Call that fails the test on error.
func (p *Platform) MustCall(target, method string, params any, out any) {
	p.t.Helper()
	if err := p.Call(target, method, params, out); err != nil {
		p.t.Fatalf("%s on %s: %v", method, target, err)
	}
}

// ProcessRow is one process as RPCListProcesses reports it.
type ProcessRow struct {
	ID, Status string
	PID        int
	Restarts   int
}

// Processes lists the platform's processes.
func (p *Platform) Processes() []ProcessRow {
	p.t.Helper()
	var res struct{ Processes []ProcessRow }
	p.MustCall("broker", "RPCListProcesses", nil, &res)
	return res.Processes
}

// PID returns the pid and status the broker reports for process id (pid 0
// while it is not running).
func (p *Platform) PID(t testing.TB, id string) (int, string) {
	t.Helper()
	for _, pr := range p.Processes() {
		if pr.ID == id {
			return pr.PID, pr.Status
		}
	}
	t.Fatalf("no process %q", id)
	return 0, ""
}

// RunningPID waits until process id is running and returns its pid.
func (p *Platform) RunningPID(t testing.TB, id string) int {
	t.Helper()
	var pid int
	p.Eventually(time.Minute, id+" running", func() bool {
		var st string
		pid, st = p.PID(t, id)
		return pid > 1 && st == "running"
	})
	return pid
}

// signalProcess sends sig to one service process. kill(2) with a pid of 0
// or -1 signals the test's whole process group (go test, build.sh, CI) or
// every process it may signal, so anything but another single process is
// refused.
func signalProcess(t testing.TB, pid int, sig syscall.Signal) {
	t.Helper()
	if pid <= 1 || pid == os.Getpid() || pid == os.Getppid() {
		t.Fatalf("refusing to send %v to pid %d: not a service process", sig, pid)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("signal %v to pid %d: %v", sig, pid, err)
	}
}

// Eventually polls cond until it holds or d passes.
func (p *Platform) Eventually(d time.Duration, what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
