// Package httpapi is the HTTP side of the access gateway (contract §3):
// /restful/health, /restful/rpc (JSON envelope with retcodes), /metrics
// (Prometheus) and the static website, with token authentication, a body
// limit and CORS.
package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/v2e/v2e/internal/rpc"
)

// Caller sends one request through the broker (service.Service implements it).
type Caller interface {
	CallRaw(ctx context.Context, target, method string, params any) (json.RawMessage, error)
}

// Token is what one bearer token may reach.
type Token struct {
	Endpoints []string
	Processes []string
}

// Config configures the handler. Zero values take the contract's defaults.
type Config struct {
	RPCTimeout   time.Duration // default 30s
	MaxBodyBytes int64         // default 1 MiB
	StaticDir    string        // the built website; an embedded status page when it has no index.html
	CORSOrigins  []string      // allowed origins; "*" allows any
	AuthEnabled  bool
	Tokens       map[string]Token
	Logger       *slog.Logger
	Registry     *prometheus.Registry // default: a new registry with Go and process collectors
	// Collectors are registered on Registry too (e.g. a PlatformCollector).
	Collectors []prometheus.Collector
}

// Envelope is the body of every /restful/rpc answer.
type Envelope struct {
	Retcode int             `json:"retcode"`
	Message string          `json:"message"`
	Payload json.RawMessage `json:"payload"`
}

type rpcRequest struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Target string          `json:"target"`
}

//go:embed fallback
var fallback embed.FS

type handler struct {
	cfg    Config
	caller Caller
	log    *slog.Logger
	tokens []tokenEntry
	m      *metrics
	static http.Handler
}

type tokenEntry struct {
	hash [32]byte
	Token
}

// New returns the gateway's HTTP handler.
func New(caller Caller, cfg Config) http.Handler {
	if cfg.RPCTimeout <= 0 {
		cfg.RPCTimeout = 30 * time.Second
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	cfg.Registry.MustRegister(cfg.Collectors...)
	h := &handler{cfg: cfg, caller: caller, log: cfg.Logger, m: newMetrics(cfg.Registry), static: staticHandler(cfg.StaticDir)}
	for tok, t := range cfg.Tokens {
		h.tokens = append(h.tokens, tokenEntry{hash: sha256.Sum256([]byte(tok)), Token: t})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/restful/health", h.health)
	mux.HandleFunc("/restful/rpc", h.rpc)
	mux.Handle("/metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", h.site)
	return h.cors(h.auth(mux))
}

func staticHandler(dir string) http.Handler {
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "index.html")); err == nil {
			return http.FileServer(exportFS{http.Dir(dir)})
		}
	}
	sub, _ := fs.Sub(fallback, "fallback")
	return http.FileServer(http.FS(sub))
}

// exportFS serves Next.js static exports: /cve resolves to /cve.html.
type exportFS struct{ fs http.FileSystem }

func (e exportFS) Open(name string) (http.File, error) {
	f, err := e.fs.Open(name)
	if errors.Is(err, fs.ErrNotExist) && !strings.HasSuffix(name, "/") && filepath.Ext(name) == "" {
		return e.fs.Open(name + ".html")
	}
	return f, err
}

func (h *handler) site(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.static.ServeHTTP(w, r)
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// envelope writes {"retcode","message","payload"} by hand: payload is a
// sub-slice of a line the rpc codec has already checked, so it is copied as
// it is instead of being scanned again by encoding/json (a third of the
// gateway's CPU for a CVE record).
func (h *handler) envelope(w http.ResponseWriter, status, retcode int, msg string, payload json.RawMessage) {
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	var head []byte
	if retcode == 0 && msg == "success" {
		head = successHead // every answered call: nothing to build
	} else {
		quoted, err := json.Marshal(msg)
		if err != nil { // cannot happen for a string
			quoted = []byte(`""`)
		}
		head = make([]byte, 0, len(quoted)+48)
		head = append(head, `{"retcode":`...)
		head = strconv.AppendInt(head, int64(retcode), 10)
		head = append(head, `,"message":`...)
		head = append(head, quoted...)
		head = append(head, `,"payload":`...)
	}
	const tail = "}\n"
	hdr := w.Header()
	hdr["Content-Type"] = contentTypeJSON
	hdr["Content-Length"] = []string{strconv.Itoa(len(head) + len(payload) + len(tail))}
	w.WriteHeader(status)
	_, _ = w.Write(head)
	_, _ = w.Write(payload)
	_, _ = io.WriteString(w, tail)
}

var (
	successHead = []byte(`{"retcode":0,"message":"success","payload":`)
	// contentTypeJSON is shared by every answer's header (net/http only
	// reads it; Set or Add elsewhere replace or reallocate it).
	contentTypeJSON = []string{"application/json"}
)

func (h *handler) rpc(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	method, target, retcode := "", "", 0
	defer func() { h.m.observe(method, target, retcode, time.Since(start)) }()
	if r.Method != http.MethodPost {
		retcode = http.StatusMethodNotAllowed
		w.Header().Set("Allow", "POST")
		h.envelope(w, retcode, retcode, "Invalid request: use POST", nil)
		return
	}
	req, status, why := h.decode(w, r)
	if why != "" {
		retcode = status
		h.envelope(w, status, status, why, nil)
		return
	}
	method = req.Method
	if tok, ok := r.Context().Value(tokenKey{}).(*tokenEntry); ok && !allowed(tok.Processes, req.Target) {
		retcode = http.StatusForbidden
		h.envelope(w, retcode, retcode, fmt.Sprintf("Forbidden: this token may not call process %q", req.Target), nil)
		return
	}
	target = req.Target
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RPCTimeout)
	defer cancel()
	payload, err := h.caller.CallRaw(ctx, req.Target, req.Method, req.Params)
	if err != nil {
		retcode = 500
		h.envelope(w, http.StatusOK, retcode, err.Error(), nil)
		return
	}
	h.envelope(w, http.StatusOK, 0, "success", payload)
}

// decode reads and checks the request body; why is "" when it is good.
func (h *handler) decode(w http.ResponseWriter, r *http.Request) (req rpcRequest, status int, why string) {
	body, err := readBody(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, http.StatusRequestEntityTooLarge, fmt.Sprintf("Invalid request: body exceeds %d bytes", h.cfg.MaxBodyBytes)
		}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			return req, http.StatusRequestTimeout, "Invalid request: body not received within the server's read timeout"
		}
		return req, http.StatusBadRequest, "Invalid request: cannot read body: " + err.Error()
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return req, http.StatusBadRequest, "Invalid request: empty body"
	}
	if body[0] != '{' {
		return req, http.StatusBadRequest, "Invalid request: body must be a JSON object"
	}
	if req, ok := decodeFast(body); ok {
		return req, 0, ""
	}
	return decodeFields(body)
}

// decodeFields is the general reading of a body that starts with '{', with
// encoding/json: the reference decodeFast must agree with.
func decodeFields(body []byte) (req rpcRequest, status int, why string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return req, http.StatusBadRequest, "Invalid request: malformed JSON: " + err.Error()
	}
	if err := json.Unmarshal(fields["method"], &req.Method); fields["method"] == nil || err != nil || req.Method == "" {
		return req, http.StatusBadRequest, "Invalid request: method is required and must be a non-empty string"
	}
	if t, ok := fields["target"]; ok && string(t) != "null" {
		if err := json.Unmarshal(t, &req.Target); err != nil {
			return req, http.StatusBadRequest, "Invalid request: target must be a string"
		}
	}
	if req.Target == "" {
		req.Target = rpc.BrokerID
	}
	if p, ok := fields["params"]; ok && string(p) != "null" {
		if p[0] != '{' {
			return req, http.StatusBadRequest, "Invalid request: params must be a JSON object"
		}
		req.Params = p
	}
	return req, 0, ""
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}

type tokenKey struct{}

// auth checks the bearer token when authentication is on: 401 without a
// valid token, 403 for an endpoint outside its allowlist. The comparison
// takes the same time whichever token matches.
func (h *handler) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.cfg.AuthEnabled || r.Method == http.MethodOptions || r.URL.Path == "/restful/health" {
			next.ServeHTTP(w, r)
			return
		}
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var match *tokenEntry
		if ok && raw != "" {
			sum := sha256.Sum256([]byte(raw))
			for i := range h.tokens {
				if subtle.ConstantTimeCompare(sum[:], h.tokens[i].hash[:]) == 1 {
					match = &h.tokens[i]
				}
			}
		}
		if match == nil {
			h.m.observe("", "", http.StatusUnauthorized, 0)
			w.Header().Set("WWW-Authenticate", `Bearer realm="v2e"`)
			h.envelope(w, http.StatusUnauthorized, http.StatusUnauthorized, "Unauthorized: a valid bearer token is required", nil)
			return
		}
		if !allowedEndpoint(match.Endpoints, r.URL.Path) {
			h.m.observe("", "", http.StatusForbidden, 0)
			h.envelope(w, http.StatusForbidden, http.StatusForbidden, fmt.Sprintf("Forbidden: this token may not use %s", r.URL.Path), nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, match)))
	})
}

func allowed(list []string, v string) bool {
	return len(list) == 0 || slices.Contains(list, v) || slices.Contains(list, "*")
}

// allowedEndpoint matches exact paths, and prefixes written with a trailing "*".
func allowedEndpoint(list []string, path string) bool {
	for _, e := range list {
		if e == "*" || e == path || (strings.HasSuffix(e, "*") && strings.HasPrefix(path, strings.TrimSuffix(e, "*"))) {
			return true
		}
	}
	return false
}

func (h *handler) cors(next http.Handler) http.Handler {
	if len(h.cfg.CORSOrigins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (slices.Contains(h.cfg.CORSOrigins, "*") || slices.Contains(h.cfg.CORSOrigins, origin)) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Vary", "Origin")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	targets  *prometheus.HistogramVec

	methods, targetSeen labelSet
}

// maxLabels bounds the distinct method (and target) labels, so that clients
// sending made-up names cannot grow the metrics without bound.
const maxLabels = 256

// labelSet admits the first maxLabels distinct values of a label; later new
// values become "(other)".
type labelSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (l *labelSet) label(v string) string {
	if v == "" {
		return "(invalid)"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.seen[v] {
		if len(l.seen) >= maxLabels {
			return "(other)"
		}
		if l.seen == nil {
			l.seen = make(map[string]bool)
		}
		l.seen[v] = true
	}
	return v
}

var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "v2e_http_rpc_requests_total", Help: "Requests to /restful/rpc by method and retcode.",
		}, []string{"method", "retcode"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "v2e_http_rpc_duration_seconds", Help: "Latency of /restful/rpc by method.", Buckets: latencyBuckets,
		}, []string{"method"}),
		targets: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "v2e_http_rpc_target_duration_seconds", Help: "Latency of /restful/rpc calls routed through the broker, by target process.", Buckets: latencyBuckets,
		}, []string{"target"}),
	}
	reg.MustRegister(m.requests, m.latency, m.targets)
	return m
}

// observe counts one /restful/rpc request; d is 0 for requests refused
// before routing (auth), target "" for requests never routed.
func (m *metrics) observe(method, target string, retcode int, d time.Duration) {
	method = m.methods.label(method)
	m.requests.WithLabelValues(method, strconv.Itoa(retcode)).Inc()
	if d <= 0 {
		return
	}
	m.latency.WithLabelValues(method).Observe(d.Seconds())
	if target != "" {
		m.targets.WithLabelValues(m.targetSeen.label(target)).Observe(d.Seconds())
	}
}
