// Package config loads and validates config.json (contract §4).
//
// Load applies, in order: defaults, the file, environment overrides; then
// Validate reports every bad field by its dotted key. An unknown key or a
// value of the wrong type is an error naming the key. Libraries never read
// config or the environment: each main passes plain values on.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

// Config is the whole of config.json.
type Config struct {
	Server  Server  `json:"server"`
	Broker  Broker  `json:"broker"`
	Logging Logging `json:"logging"`
	Access  Access  `json:"access"`
	Local   Local   `json:"local"`
	Meta    Meta    `json:"meta"`
	Remote  Remote  `json:"remote"`
	Assets  Assets  `json:"assets"`
	CAPEC   CAPEC   `json:"capec"`

	// Path is the file the config was loaded from (absolute), "" for defaults.
	Path string `json:"-"`
}

// Server is the HTTP listener of access.
type Server struct {
	Address string `json:"address"`
}

// Broker configures the broker and the processes it runs.
type Broker struct {
	LogsDir               string         `json:"logs_dir"`
	LogFile               string         `json:"log_file"`
	RPCInputFD            int            `json:"rpc_input_fd"`
	RPCOutputFD           int            `json:"rpc_output_fd"`
	MaxMessageSizeBytes   int            `json:"max_message_size_bytes"`
	RequestTimeoutSeconds float64        `json:"request_timeout_seconds"`
	ReadyTimeoutSeconds   float64        `json:"ready_timeout_seconds"`
	StopTimeoutSeconds    float64        `json:"stop_timeout_seconds"`
	Permits               Permits        `json:"permits"`
	Optimizer             Optimizer      `json:"optimizer"`
	Authentication        Authentication `json:"authentication"`
	Processes             []Process      `json:"processes"`
}

// Permits configures the broker's worker permit pool.
type Permits struct {
	Total             int     `json:"total"`
	P99RevokeMS       float64 `json:"p99_revoke_ms"`
	BufferRevokeRatio float64 `json:"buffer_revoke_ratio"`
}

// Optimizer configures asynchronous message routing.
type Optimizer struct {
	Enabled bool   `json:"enabled"`
	Buffer  int    `json:"buffer"`
	Workers int    `json:"workers"`
	Batch   int    `json:"batch"`
	FlushMS int    `json:"flush_ms"`
	Policy  string `json:"policy"`
}

// Authentication configures token checks in access.
type Authentication struct {
	Enabled bool             `json:"enabled"`
	Tokens  map[string]Token `json:"tokens"`
}

// Token lists what one bearer token may reach.
type Token struct {
	Endpoints []string `json:"endpoints"`
	Processes []string `json:"processes"`
}

// Process is one child the broker runs.
type Process struct {
	ID          string            `json:"id"`
	Command     string            `json:"command"`
	Args        []string          `json:"args"`
	Env         map[string]string `json:"env"`
	RPC         bool              `json:"rpc"`
	Restart     bool              `json:"restart"`
	MaxRestarts int               `json:"max_restarts"`
}

// Logging configures log level and directory.
type Logging struct {
	Level string `json:"level"`
	Dir   string `json:"dir"`
}

// Access configures the HTTP gateway.
type Access struct {
	RPCTimeoutSeconds      float64  `json:"rpc_timeout_seconds"`
	ShutdownTimeoutSeconds float64  `json:"shutdown_timeout_seconds"`
	StaticDir              string   `json:"static_dir"`
	MaxBodyBytes           int64    `json:"max_body_bytes"`
	CORSOrigins            []string `json:"cors_origins"`
}

// Local configures the SQLite files.
type Local struct {
	CVEDBPath    string `json:"cve_db_path"`
	CWEDBPath    string `json:"cwe_db_path"`
	CAPECDBPath  string `json:"capec_db_path"`
	AttackDBPath string `json:"attack_db_path"`
}

// Meta configures the job engine.
type Meta struct {
	SessionDBPath   string `json:"session_db_path"`
	CheckpointEvery int    `json:"checkpoint_every"`
	// StartupImports runs the CWE, CAPEC and ATT&CK imports when meta starts
	// (each skipped when its catalog is already stored).
	StartupImports bool `json:"startup_imports"`
}

// Remote configures the NVD client.
type Remote struct {
	NVDBaseURL        string  `json:"nvd_base_url"`
	NVDAPIKey         string  `json:"nvd_api_key"`
	ViewFetchURL      string  `json:"view_fetch_url"`
	RequestsPerWindow int     `json:"requests_per_window"`
	WindowSeconds     float64 `json:"window_seconds"`
	RetryBudget       int     `json:"retry_budget"`
	FeedDir           string  `json:"feed_dir"`
}

// Assets locates the bundled catalogs.
type Assets struct {
	Dir          string `json:"dir"`
	CWERawPath   string `json:"cwe_raw_path"`
	CAPECXMLPath string `json:"capec_xml_path"`
	CAPECXSDPath string `json:"capec_xsd_path"`
	AttackDir    string `json:"attack_dir"`
}

// CAPEC configures CAPEC import checks.
type CAPEC struct {
	StrictXSDValidation bool `json:"strict_xsd_validation"`
}

// Default returns the contract's defaults.
func Default() Config {
	return Config{
		Server: Server{Address: "127.0.0.1:8080"},
		Broker: Broker{
			LogsDir: "./logs", LogFile: "./logs/broker.log",
			RPCInputFD: 3, RPCOutputFD: 4,
			MaxMessageSizeBytes:   16 << 20,
			RequestTimeoutSeconds: 60,
			ReadyTimeoutSeconds:   15,
			StopTimeoutSeconds:    10,
			Permits:               Permits{Total: 10, P99RevokeMS: 30, BufferRevokeRatio: 0.8},
			Optimizer:             Optimizer{Buffer: 1000, Workers: 4, Batch: 1, FlushMS: 10, Policy: "wait"},
		},
		Logging: Logging{Level: "info", Dir: "./logs"},
		Access:  Access{RPCTimeoutSeconds: 30, ShutdownTimeoutSeconds: 10, StaticDir: "website", MaxBodyBytes: 1 << 20},
		Local:   Local{CVEDBPath: "cve.db", CWEDBPath: "cwe.db", CAPECDBPath: "capec.db", AttackDBPath: "attack.db"},
		Meta:    Meta{SessionDBPath: "session.db", CheckpointEvery: 100, StartupImports: true},
		Remote: Remote{NVDBaseURL: "https://services.nvd.nist.gov/rest/json/cves/2.0",
			RequestsPerWindow: 0, WindowSeconds: 30, RetryBudget: 8},
		Assets: Assets{Dir: "assets", CWERawPath: "assets/cwe-raw.json", CAPECXMLPath: "assets/capec_contents_latest.xml",
			CAPECXSDPath: "assets/capec_schema_latest.xsd", AttackDir: "assets/attack"},
		CAPEC: CAPEC{StrictXSDValidation: false},
	}
}

// defaultProcess fills a process entry's defaults: rpc and restart true,
// unlimited restarts, unless the file says otherwise.
var defaultProcess = Process{RPC: true, Restart: true, MaxRestarts: -1}

// Error lists every problem found in a config, each naming its key.
type Error struct {
	Path     string
	Problems []string
}

func (e *Error) Error() string {
	where := "config"
	if e.Path != "" {
		where = e.Path
	}
	return fmt.Sprintf("%s: %d problem(s):\n  - %s", where, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// ErrInvalid is wrapped by every *Error (errors.Is(err, ErrInvalid)).
var ErrInvalid = errors.New("config: invalid")

// Is makes errors.Is(err, ErrInvalid) true for an *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Load reads path (defaults only when path is ""), applies environment
// overrides from getenv (os.Getenv when nil) and validates the result.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	if getenv == nil {
		getenv = os.Getenv
	}
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
		cfg.Path = abs
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := Parse(data, &cfg); err != nil {
			if ce, ok := err.(*Error); ok {
				ce.Path = path
			}
			return cfg, err
		}
	}
	cfg.applyEnv(getenv)
	if err := cfg.Validate(); err != nil {
		if ce, ok := err.(*Error); ok {
			ce.Path = path
		}
		return cfg, err
	}
	return cfg, nil
}

// Parse decodes data over cfg, reporting unknown keys and wrong types by name.
func Parse(data []byte, cfg *Config) error {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return &Error{Problems: []string{describeSyntax(data, err)}}
	}
	var problems []string
	check(raw, reflect.TypeOf(*cfg), "", &problems)
	if len(problems) > 0 {
		return &Error{Problems: problems}
	}
	if err := json.Unmarshal(data, cfg); err != nil {
		return &Error{Problems: []string{err.Error()}}
	}
	// Process entries get their own defaults for keys the file leaves out.
	var procs struct {
		Broker struct {
			Processes []map[string]json.RawMessage `json:"processes"`
		} `json:"broker"`
	}
	_ = json.Unmarshal(data, &procs)
	for i, p := range procs.Broker.Processes {
		if i >= len(cfg.Broker.Processes) {
			break
		}
		if _, ok := p["rpc"]; !ok {
			cfg.Broker.Processes[i].RPC = defaultProcess.RPC
		}
		if _, ok := p["restart"]; !ok {
			cfg.Broker.Processes[i].Restart = defaultProcess.Restart
		}
		if _, ok := p["max_restarts"]; !ok {
			cfg.Broker.Processes[i].MaxRestarts = defaultProcess.MaxRestarts
		}
	}
	return nil
}

func describeSyntax(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Sprintf("line %d: malformed JSON: %v", line, err)
	}
	return "malformed JSON: " + err.Error()
}

// check walks the decoded JSON against the struct type, collecting unknown
// keys and type mismatches with their dotted paths.
func check(v any, t reflect.Type, path string, problems *[]string) {
	name := path
	if name == "" {
		name = "(top level)"
	}
	if v == nil {
		return // null leaves the default in place
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected an object, got %s", name, jsonKind(v)))
			return
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("json"), ",")[0]
			if tag != "" && tag != "-" {
				fields[tag] = f.Type
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s: unknown key", join(path, k)))
				continue
			}
			check(obj[k], ft, join(path, k), problems)
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected an array, got %s", name, jsonKind(v)))
			return
		}
		for i, e := range arr {
			check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected an object, got %s", name, jsonKind(v)))
			return
		}
		for k, e := range obj {
			check(e, t.Elem(), join(path, k), problems)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected a string, got %s", name, jsonKind(v)))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected true or false, got %s", name, jsonKind(v)))
		}
	case reflect.Int, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected an integer, got %s", name, jsonKind(v)))
		} else if _, err := n.Int64(); err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: expected an integer, got %s", name, n))
		}
	case reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected a number, got %s", name, jsonKind(v)))
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func jsonKind(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case json.Number:
		return "number " + x.String()
	case bool:
		return fmt.Sprintf("%v", x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func (c *Config) applyEnv(getenv func(string) string) {
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	set(&c.Meta.SessionDBPath, "SESSION_DB_PATH")
	set(&c.Local.CVEDBPath, "CVE_DB_PATH")
	set(&c.Local.CWEDBPath, "CWE_DB_PATH")
	set(&c.Local.CAPECDBPath, "CAPEC_DB_PATH")
	set(&c.Local.AttackDBPath, "ATTACK_DB_PATH")
	set(&c.Remote.NVDAPIKey, "NVD_API_KEY")
	set(&c.Remote.NVDBaseURL, "NVD_BASE_URL")
}

// Validate reports every invalid value, each by its key.
func (c *Config) Validate() error {
	var p []string
	bad := func(key, format string, args ...any) { p = append(p, key+": "+fmt.Sprintf(format, args...)) }
	if c.Server.Address == "" {
		bad("server.address", "must not be empty")
	}
	b := c.Broker
	if b.RPCInputFD < 3 {
		bad("broker.rpc_input_fd", "must be 3 or more (0-2 are stdin, stdout, stderr), got %d", b.RPCInputFD)
	}
	if b.RPCOutputFD < 3 {
		bad("broker.rpc_output_fd", "must be 3 or more, got %d", b.RPCOutputFD)
	}
	if b.RPCInputFD == b.RPCOutputFD {
		bad("broker.rpc_output_fd", "must differ from rpc_input_fd (%d)", b.RPCInputFD)
	}
	if b.RPCInputFD > 64 || b.RPCOutputFD > 64 {
		bad("broker.rpc_input_fd", "descriptor numbers above 64 are not supported")
	}
	if b.MaxMessageSizeBytes < 1024 {
		bad("broker.max_message_size_bytes", "must be at least 1024, got %d", b.MaxMessageSizeBytes)
	}
	positive := func(key string, v float64) {
		if v <= 0 {
			bad(key, "must be greater than 0, got %v", v)
		}
	}
	positive("broker.request_timeout_seconds", b.RequestTimeoutSeconds)
	positive("broker.ready_timeout_seconds", b.ReadyTimeoutSeconds)
	positive("broker.stop_timeout_seconds", b.StopTimeoutSeconds)
	if b.Permits.Total < 1 {
		bad("broker.permits.total", "must be at least 1, got %d", b.Permits.Total)
	}
	positive("broker.permits.p99_revoke_ms", b.Permits.P99RevokeMS)
	if r := b.Permits.BufferRevokeRatio; r <= 0 || r > 1 {
		bad("broker.permits.buffer_revoke_ratio", "must be in (0, 1], got %v", r)
	}
	o := b.Optimizer
	if o.Buffer < 1 {
		bad("broker.optimizer.buffer", "must be at least 1, got %d", o.Buffer)
	}
	if o.Workers < 1 {
		bad("broker.optimizer.workers", "must be at least 1, got %d", o.Workers)
	}
	if o.Batch < 1 {
		bad("broker.optimizer.batch", "must be at least 1, got %d", o.Batch)
	}
	if o.FlushMS < 0 {
		bad("broker.optimizer.flush_ms", "must not be negative, got %d", o.FlushMS)
	}
	switch o.Policy {
	case "wait", "drop", "reject":
	default:
		bad("broker.optimizer.policy", "must be wait, drop or reject, got %q", o.Policy)
	}
	for tok, t := range b.Authentication.Tokens {
		if tok == "" {
			bad("broker.authentication.tokens", "a token must not be empty")
		}
		if len(t.Endpoints) == 0 {
			bad("broker.authentication.tokens."+redact(tok)+".endpoints", "must list at least one endpoint")
		}
	}
	if b.Authentication.Enabled && len(b.Authentication.Tokens) == 0 {
		bad("broker.authentication.tokens", "authentication is enabled but no token is configured")
	}
	seen := map[string]bool{}
	for i, pr := range b.Processes {
		key := fmt.Sprintf("broker.processes[%d]", i)
		switch {
		case pr.ID == "":
			bad(key+".id", "must not be empty")
		case pr.ID == "broker":
			bad(key+".id", `"broker" is reserved for the broker itself`)
		case seen[pr.ID]:
			bad(key+".id", "duplicate process id %q", pr.ID)
		}
		seen[pr.ID] = true
		if pr.Command == "" {
			bad(key+".command", "must not be empty")
		}
		if pr.MaxRestarts < -1 {
			bad(key+".max_restarts", "must be -1 (no limit) or more, got %d", pr.MaxRestarts)
		}
	}
	switch strings.ToLower(c.Logging.Level) {
	case "debug", "info", "warn", "error":
	default:
		bad("logging.level", "must be debug, info, warn or error, got %q", c.Logging.Level)
	}
	positive("access.rpc_timeout_seconds", c.Access.RPCTimeoutSeconds)
	positive("access.shutdown_timeout_seconds", c.Access.ShutdownTimeoutSeconds)
	if c.Access.MaxBodyBytes < 1 {
		bad("access.max_body_bytes", "must be at least 1, got %d", c.Access.MaxBodyBytes)
	}
	if c.Meta.CheckpointEvery < 1 {
		bad("meta.checkpoint_every", "must be at least 1, got %d", c.Meta.CheckpointEvery)
	}
	if c.Remote.RequestsPerWindow < 0 {
		bad("remote.requests_per_window", "must not be negative, got %d", c.Remote.RequestsPerWindow)
	}
	positive("remote.window_seconds", c.Remote.WindowSeconds)
	if len(p) > 0 {
		return &Error{Path: c.Path, Problems: p}
	}
	return nil
}

func redact(tok string) string {
	if len(tok) <= 4 {
		return "****"
	}
	return tok[:2] + "…" + tok[len(tok)-2:]
}
