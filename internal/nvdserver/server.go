// Package nvdserver is a loopback stand-in for NVD's CVE API 2.0, for
// tests, benchmarks and the demo. It serves /rest/json/cves/2.0 over an
// nvd.Catalog (real feed files, or records generated from them by Scale)
// with NVD's parameters and validation errors (404 with a message header),
// enforces NVD's rolling-window rate limit with a configurable window, and
// injects the failures NVD is known for (see Fault), queued from the
// command line or at run time through the control endpoints:
//
//	POST   /control/faults  {fault} or [{fault}...]  queue faults
//	DELETE /control/faults                           clear them
//	GET    /control/faults                           list them
//	GET    /control/stats                            Stats as JSON
//
// A Server is an http.Handler; it owns no goroutine.
package nvdserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/v2e/v2e/internal/nvd"
)

// APIPath is where NVD serves the CVE API.
const APIPath = "/rest/json/cves/2.0"

// Config configures a Server.
type Config struct {
	Catalog nvd.Catalog
	// Window, Limit and KeyLimit are the rate limit: Limit requests per
	// Window without an apiKey header, KeyLimit with one (30s, 5, 50 when
	// zero).
	Window          time.Duration
	Limit, KeyLimit int
	// APIKeys, when not empty, are the only keys accepted; another key
	// gets 404 "Invalid apiKey.".
	APIKeys []string
	// Throttle is the status for a request over the limit: 403, as NVD
	// does (default), or 429 with Retry-After.
	Throttle int
	Faults   []Fault
	Now      func() time.Time // time.Now when nil
	Logger   *slog.Logger     // slog.Default when nil
}

// Stats are counters since the server started.
type Stats struct {
	Requests   int64 `json:"requests"`    // API requests received
	Pages      int64 `json:"pages"`       // whole pages served
	Records    int64 `json:"records"`     // items in those pages
	Throttled  int64 `json:"throttled"`   // refused by the rate limit
	Rejected   int64 `json:"rejected"`    // 404 for a bad parameter or key
	Faults     int64 `json:"faults"`      // injected faults
	MaxPerWin  int   `json:"max_per_win"` // most accepted requests in one window
	Limit      int   `json:"limit"`
	KeyLimit   int   `json:"key_limit"`
	WindowMS   int64 `json:"window_ms"`
	CatalogLen int   `json:"catalog_len"`
}

// Server is the loopback NVD. Safe for concurrent use.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	limit  *limiter
	faults faultQueue
	keys   map[string]bool

	mu    sync.Mutex
	stats Stats
}

// ErrConfig is wrapped by errors for an unusable Config.
var ErrConfig = errors.New("nvdserver: bad config")

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Catalog == nil {
		return nil, fmt.Errorf("%w: no catalog", ErrConfig)
	}
	if cfg.Throttle == 0 {
		cfg.Throttle = http.StatusForbidden
	}
	if cfg.Throttle != http.StatusForbidden && cfg.Throttle != http.StatusTooManyRequests {
		return nil, fmt.Errorf("%w: throttle status %d: must be 403 or 429", ErrConfig, cfg.Throttle)
	}
	cfg.Window = cmp(cfg.Window, 30*time.Second)
	cfg.Limit = cmp(cfg.Limit, 5)
	cfg.KeyLimit = cmp(cfg.KeyLimit, 50)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, limit: newLimiter(cfg.Window), keys: map[string]bool{}}
	for _, k := range cfg.APIKeys {
		s.keys[k] = true
	}
	if err := s.faults.add(cfg.Faults...); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET "+APIPath, s.serveAPI)
	s.mux.HandleFunc("GET "+APIPath+"/", s.serveAPI)
	s.mux.HandleFunc("POST /control/faults", s.postFaults)
	s.mux.HandleFunc("DELETE /control/faults", s.deleteFaults)
	s.mux.HandleFunc("GET /control/faults", s.getFaults)
	s.mux.HandleFunc("GET /control/stats", s.getStats)
	return s, nil
}

func cmp[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// AddFaults queues faults.
func (s *Server) AddFaults(fs ...Fault) error { return s.faults.add(fs...) }

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() { s.faults.clear() }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	s.limit.mu.Lock()
	st.MaxPerWin = s.limit.maxSeen
	s.limit.mu.Unlock()
	st.Limit, st.KeyLimit, st.WindowMS = s.cfg.Limit, s.cfg.KeyLimit, s.cfg.Window.Milliseconds()
	st.CatalogLen = s.cfg.Catalog.Len()
	return st
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Requests++ })
	key := r.Header.Get("apiKey")
	limit := s.cfg.Limit
	if key != "" {
		limit = s.cfg.KeyLimit
	}
	if ok, wait := s.limit.allow(key, limit, s.cfg.Now); !ok {
		s.count(func(st *Stats) { st.Throttled++ })
		s.throttle(w, wait)
		return
	}
	if key != "" && len(s.keys) > 0 && !s.keys[key] {
		s.reject(w, "Invalid apiKey.")
		return
	}
	q, err := nvd.ParseQuery(r.URL.Query())
	if err != nil {
		s.reject(w, message(err))
		return
	}
	a := s.answer(q)
	if f, ok := s.faults.take(len(a.idx)); ok {
		s.count(func(st *Stats) { st.Faults++ })
		if done := s.inject(w, r, f, a); done {
			return
		}
	}
	s.writePage(w, a, len(a.idx), true)
}

// answer is a page before it is written: the catalog indexes of its items.
type answer struct {
	q     nvd.Query
	total int
	idx   []int
	ts    time.Time
}

func (s *Server) answer(q nvd.Query) answer {
	perPage := q.ResultsPerPage
	if perPage <= 0 {
		perPage = nvd.MaxPageSize
	}
	total, idx := nvd.Select(s.cfg.Catalog, q, perPage)
	return answer{q: q, total: total, idx: idx, ts: s.cfg.Now()}
}

// message is the text NVD sends in the message header for a bad query.
func message(err error) string {
	if qe, ok := errors.AsType[*nvd.QueryError](err); ok {
		return qe.Message
	}
	return err.Error()
}

func (s *Server) throttle(w http.ResponseWriter, wait time.Duration) {
	if s.cfg.Throttle == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(s.cfg.Throttle)
	fmt.Fprint(w, "<html><body><h1>Forbidden</h1>Rate limit exceeded.</body></html>")
}

func (s *Server) reject(w http.ResponseWriter, msg string) {
	s.count(func(st *Stats) { st.Rejected++ })
	w.Header().Set("message", msg)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNotFound)
}

func htmlError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><h1>%s</h1></body></html>",
		status, http.StatusText(status), http.StatusText(status))
}

// inject applies f; it reports whether the answer is complete.
func (s *Server) inject(w http.ResponseWriter, r *http.Request, f Fault, a answer) bool {
	switch f.Mode {
	case Fault403:
		htmlError(w, http.StatusForbidden)
	case Fault429:
		w.Header().Set("Retry-After", strconv.Itoa(max(f.RetryAfter, 1)))
		htmlError(w, http.StatusTooManyRequests)
	case Fault404:
		s.reject(w, cmpStr(f.Message, "Invalid apiKey."))
	case Fault502, Fault503, Fault504:
		code, _ := strconv.Atoi(f.Mode)
		htmlError(w, code)
	case FaultSlow:
		select {
		case <-time.After(f.Delay()):
		case <-r.Context().Done():
			return true
		}
		return false
	case FaultReset:
		resetConn(w)
	case FaultNoVulns:
		s.writePage(w, a, 0, false)
	case FaultShort:
		s.writePage(w, a, len(a.idx)/2, true)
	case FaultTruncate:
		body := s.appendPage(nil, a, len(a.idx), true)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler) // the connection drops mid-body
	}
	return true
}

func cmpStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// resetConn closes the connection with SO_LINGER 0, so the client reads a
// TCP reset.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// appendHead appends the page fields before vulnerabilities, in NVD's order.
func appendHead(dst []byte, a answer) []byte {
	dst = append(dst, `{"resultsPerPage":`...)
	dst = strconv.AppendInt(dst, int64(len(a.idx)), 10)
	dst = append(dst, `,"startIndex":`...)
	dst = strconv.AppendInt(dst, int64(a.q.StartIndex), 10)
	dst = append(dst, `,"totalResults":`...)
	dst = strconv.AppendInt(dst, int64(a.total), 10)
	dst = append(dst, `,"format":"NVD_CVE","version":"2.0","timestamp":"`...)
	dst = a.ts.UTC().AppendFormat(dst, nvd.TimeLayout)
	return append(dst, '"')
}

// appendPage appends the whole page with its first n items; vulns false
// leaves out the vulnerabilities key (as NVD does for an empty result).
func (s *Server) appendPage(dst []byte, a answer, n int, vulns bool) []byte {
	dst = appendHead(dst, a)
	if vulns && len(a.idx) > 0 {
		dst = append(dst, `,"vulnerabilities":[`...)
		for k, i := range a.idx[:n] {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"cve":`...)
			dst = s.cfg.Catalog.AppendRaw(dst, i)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, "}\n"...)
}

// writePage streams a page holding its first n items (n < len(a.idx)
// makes a short page that still claims the full count). Headers go out
// first, so a client learns early that the request was counted.
func (s *Server) writePage(w http.ResponseWriter, a answer, n int, vulns bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	buf := appendHead(make([]byte, 0, 64<<10), a)
	if vulns && len(a.idx) > 0 {
		buf = append(buf, `,"vulnerabilities":[`...)
		for k, i := range a.idx[:n] {
			if k > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"cve":`...)
			buf = s.cfg.Catalog.AppendRaw(buf, i)
			buf = append(buf, '}')
			if len(buf) > 48<<10 {
				_, _ = bw.Write(buf)
				buf = buf[:0]
			}
		}
		buf = append(buf, ']')
	}
	buf = append(buf, "}\n"...)
	_, _ = bw.Write(buf)
	if err := bw.Flush(); err != nil {
		s.cfg.Logger.Debug("nvdserver: client went away", "err", err)
		return
	}
	if vulns && n == len(a.idx) {
		s.count(func(st *Stats) { st.Pages++; st.Records += int64(n) })
	}
}

func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	var fs []Fault
	body := http.MaxBytesReader(w, r.Body, 1<<20)
	dec := json.NewDecoder(body)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		http.Error(w, "fault body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &fs); err != nil {
			http.Error(w, "fault list: "+err.Error(), http.StatusBadRequest)
			return
		}
	} else {
		var f Fault
		if err := json.Unmarshal(raw, &f); err != nil {
			http.Error(w, "fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		fs = append(fs, f)
	}
	if err := s.faults.add(fs...); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, s.faults.pending())
}

func (s *Server) deleteFaults(w http.ResponseWriter, _ *http.Request) {
	s.faults.clear()
	writeJSON(w, []Fault{})
}

func (s *Server) getFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, append([]Fault{}, s.faults.pending()...))
}

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.Stats()) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
