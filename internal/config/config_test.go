package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAndOverrides(t *testing.T) {
	p := write(t, `{"broker":{"processes":[{"id":"local","command":"./local"},{"id":"x","command":"./x","rpc":false,"restart":false}]},"meta":{"checkpoint_every":50}}`)
	env := map[string]string{"SESSION_DB_PATH": "/tmp/s.db", "NVD_BASE_URL": "http://127.0.0.1:1/rest"}
	cfg, err := Load(p, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Address != "127.0.0.1:8080" || cfg.Broker.Permits.Total != 10 || cfg.Meta.CheckpointEvery != 50 {
		t.Fatalf("defaults/file not applied: %+v", cfg)
	}
	if cfg.Meta.SessionDBPath != "/tmp/s.db" || cfg.Remote.NVDBaseURL != "http://127.0.0.1:1/rest" {
		t.Fatalf("env not applied: %+v %+v", cfg.Meta, cfg.Remote)
	}
	l, x := cfg.Broker.Processes[0], cfg.Broker.Processes[1]
	if !l.RPC || !l.Restart || l.MaxRestarts != -1 || x.RPC || x.Restart {
		t.Fatalf("process defaults: %+v %+v", l, x)
	}
}

func TestEveryProblemNamed(t *testing.T) {
	p := write(t, `{
  "server": {"adress": "x"},
  "broker": {"permits": {"total": "ten"}, "optimizer": {"policy": "maybe"},
             "processes": [{"id": "a", "command": ""}, {"id": "a", "command": "./a", "max_restarts": 1.5}]},
  "meta": {"checkpoint_every": 0},
  "nonsense": true
}`)
	_, err := Load(p, func(string) string { return "" })
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	for _, want := range []string{"server.adress: unknown key", "broker.permits.total: expected an integer", "nonsense: unknown key",
		"broker.processes[1].max_restarts: expected an integer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	// Type errors stop before validation; a well-typed file reports every invalid value.
	p = write(t, `{"broker":{"optimizer":{"policy":"maybe"},"processes":[{"id":"a","command":""},{"id":"a","command":"./a"}]},"meta":{"checkpoint_every":0},"logging":{"level":"loud"}}`)
	_, err = Load(p, func(string) string { return "" })
	for _, want := range []string{"broker.optimizer.policy", "broker.processes[0].command", `broker.processes[1].id: duplicate process id "a"`, "meta.checkpoint_every", "logging.level"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestMalformedJSONNamesLine(t *testing.T) {
	p := write(t, "{\n\"server\": {\n\"address\": \"x\",,\n}}")
	_, err := Load(p, nil)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("want a line number, got %v", err)
	}
}

// The config.json the project ships (and ./build.sh -r runs) is valid.
func TestShippedConfigIsValid(t *testing.T) {
	cfg, err := Load("../../config.json", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Broker.Processes) < 6 || cfg.Server.Address != "127.0.0.1:8080" {
		t.Fatalf("%+v", cfg.Broker.Processes)
	}
}
