package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/cve"
	"github.com/v2e/v2e/internal/nvd"
	"github.com/v2e/v2e/internal/permit"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/sqlite/cvedb"
)

// router is an in-process stand-in for the broker's routing: it answers the
// methods meta calls from the real stores (the NVD feeds under assets/nvd,
// a cvedb SQLite file, a permit.Pool), with params and results going
// through JSON as on the wire.
type router struct {
	t     *testing.T
	feed  *nvd.Feed
	cves  store
	pool  *permit.Pool // nil: the broker has no permit methods
	mu    sync.Mutex
	h     map[string]func(ctx context.Context, params json.RawMessage) (any, error)
	calls map[string]int
	// gate, when set, is called before each RPCFetchCVEs with its start index.
	gate    func(ctx context.Context, start int) error
	fetches atomic.Int64
}

var (
	feedOnce sync.Once
	feedAll  *nvd.Feed
	feedErr  error
)

func loadFeed(t *testing.T) *nvd.Feed {
	t.Helper()
	feedOnce.Do(func() {
		files, err := nvd.FeedFiles("../../assets/nvd")
		if err != nil {
			feedErr = err
			return
		}
		feedAll, feedErr = nvd.LoadFeeds(files...)
	})
	if feedErr != nil {
		t.Fatal(feedErr)
	}
	return feedAll
}

// store is the part of cve.Store the router serves.
type store interface {
	Save(ctx context.Context, records []json.RawMessage) (cve.SaveResult, error)
	SaveOne(ctx context.Context, record json.RawMessage) (string, cve.Outcome, error)
	Get(ctx context.Context, id string) (json.RawMessage, error)
	Delete(ctx context.Context, id string) error
	Count(ctx context.Context) (int, error)
}

// memStore keeps records by id in memory, as saved. The race detector
// makes the pure-Go SQLite of cvedb some 20 times slower, so the sync tests
// use this (the e2e tests check the real local field for field) and only
// the CVE method test uses cvedb.
type memStore struct {
	mu  sync.Mutex
	m   map[string]json.RawMessage
	dup int             // records saved again (resumed pages)
	bad map[string]bool // ids refused as invalid, as local refuses a malformed record
}

func (s *memStore) Save(_ context.Context, recs []json.RawMessage) (cve.SaveResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res cve.SaveResult
	for i, r := range recs {
		if id := cveID(r); id == "" || s.bad[id] {
			return cve.SaveResult{}, rpc.Errorf(rpc.CodeInvalid, "cve: record %d (%s): invalid input", i, id)
		}
	}
	for _, r := range recs {
		id := cveID(r)
		if _, ok := s.m[id]; ok {
			s.dup++
			res.Unchanged++
		} else {
			res.Saved++
		}
		s.m[id] = r
	}
	return res, nil
}

func (s *memStore) SaveOne(ctx context.Context, r json.RawMessage) (string, cve.Outcome, error) {
	_, err := s.Save(ctx, []json.RawMessage{r})
	return cveID(r), cve.Saved, err
}

func (s *memStore) Get(_ context.Context, id string) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", cve.ErrNotFound, id)
	}
	return r, nil
}

func (s *memStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; !ok {
		return fmt.Errorf("%w: %s", cve.ErrNotFound, id)
	}
	delete(s.m, id)
	return nil
}

func (s *memStore) Count(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m), nil
}

// newRouter returns a router over a memStore.
func newRouter(t *testing.T, permits int) *router {
	return newRouterOn(t, permits, &memStore{m: map[string]json.RawMessage{}})
}

// newSQLiteRouter returns a router over a real cvedb file.
func newSQLiteRouter(t *testing.T, permits int) *router {
	t.Helper()
	db, err := cvedb.Open(context.Background(), filepath.Join(t.TempDir(), "cve.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newRouterOn(t, permits, db)
}

func newRouterOn(t *testing.T, permits int, db store) *router {
	t.Helper()
	var err error
	r := &router{t: t, feed: loadFeed(t), cves: db, h: map[string]func(context.Context, json.RawMessage) (any, error){}, calls: map[string]int{}}
	if permits > 0 {
		if r.pool, err = permit.New(permits); err != nil {
			t.Fatal(err)
		}
	}
	r.handle("remote.RPCFetchCVEs", r.fetchCVEs)
	r.handle("remote.RPCGetCVEByID", func(ctx context.Context, p json.RawMessage) (any, error) {
		var q cveIDParams
		_ = json.Unmarshal(p, &q)
		raw, err := r.feed.GetCVE(ctx, q.CVEID)
		if errors.Is(err, nvd.ErrNotFound) {
			return map[string]any{"vulnerabilities": []any{}}, nil
		}
		return map[string]any{"vulnerabilities": []nvd.Vulnerability{{CVE: raw}}}, err
	})
	r.handle("local.RPCSaveCVEs", func(ctx context.Context, p json.RawMessage) (any, error) {
		var q struct{ CVEs []json.RawMessage }
		if err := json.Unmarshal(p, &q); err != nil {
			return nil, err
		}
		return r.cves.Save(ctx, q.CVEs)
	})
	r.handle("local.RPCSaveCVEByID", func(ctx context.Context, p json.RawMessage) (any, error) {
		var q struct{ CVE json.RawMessage }
		_ = json.Unmarshal(p, &q)
		id, _, err := r.cves.SaveOne(ctx, q.CVE)
		return map[string]any{"success": true, "cve_id": id}, err
	})
	r.handle("local.RPCGetCVEByID", func(ctx context.Context, p json.RawMessage) (any, error) {
		var q cveIDParams
		_ = json.Unmarshal(p, &q)
		raw, err := r.cves.Get(ctx, q.CVEID)
		if errors.Is(err, cve.ErrNotFound) {
			return nil, rpc.Errorf(rpc.CodeNotFound, "CVE %q is not stored", q.CVEID)
		}
		return map[string]any{"cve": raw, "id": q.CVEID}, err
	})
	r.handle("local.RPCDeleteCVEByID", func(ctx context.Context, p json.RawMessage) (any, error) {
		var q cveIDParams
		_ = json.Unmarshal(p, &q)
		if err := r.cves.Delete(ctx, q.CVEID); errors.Is(err, cve.ErrNotFound) {
			return nil, rpc.Errorf(rpc.CodeNotFound, "CVE %q is not stored", q.CVEID)
		}
		return map[string]any{"success": true, "cve_id": q.CVEID}, nil
	})
	r.handle("local.RPCCountCVEs", func(ctx context.Context, _ json.RawMessage) (any, error) {
		n, err := r.cves.Count(ctx)
		return map[string]int{"count": n}, err
	})
	r.handle("broker.RPCRequestPermits", func(_ context.Context, p json.RawMessage) (any, error) {
		if r.pool == nil {
			return nil, rpc.NoHandler("RPCRequestPermits")
		}
		var q permitRequest
		_ = json.Unmarshal(p, &q)
		g, a, err := r.pool.Request(permit.Holder{Service: "meta", Provider: q.ProviderID}, q.PermitCount)
		return permitGrant{Granted: g, Available: a, ProviderID: q.ProviderID}, err
	})
	r.handle("broker.RPCReleasePermits", func(_ context.Context, p json.RawMessage) (any, error) {
		if r.pool == nil {
			return nil, rpc.NoHandler("RPCReleasePermits")
		}
		var q permitRequest
		_ = json.Unmarshal(p, &q)
		_, a, err := r.pool.Release(permit.Holder{Service: "meta", Provider: q.ProviderID}, q.PermitCount)
		return map[string]any{"success": err == nil, "available": a, "provider_id": q.ProviderID}, err
	})
	return r
}

func (r *router) handle(key string, h func(context.Context, json.RawMessage) (any, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h[key] = h
}

func (r *router) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[key]
}

// Call implements Caller.
func (r *router) Call(ctx context.Context, target, method string, params, result any) error {
	key := target + "." + method
	r.mu.Lock()
	h := r.h[key]
	r.calls[key]++
	r.mu.Unlock()
	if h == nil {
		return rpc.NoHandler(method)
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	out, err := h(ctx, raw)
	if err != nil {
		var re *rpc.Error
		if errors.As(err, &re) {
			return re
		}
		return rpc.Errorf(rpc.CodeInternal, "%v", err)
	}
	if result == nil {
		return nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, result)
}

// holdFrom is a router gate that holds every fetch from start index min on
// until release is closed or the call's context ends.
func holdFrom(min int, release <-chan struct{}) func(context.Context, int) error {
	return func(ctx context.Context, start int) error {
		if start < min {
			return nil
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *router) fetchCVEs(ctx context.Context, p json.RawMessage) (any, error) {
	var q struct {
		StartIndex     int    `json:"start_index"`
		ResultsPerPage int    `json:"results_per_page"`
		LastModStart   string `json:"last_mod_start_date"`
		LastModEnd     string `json:"last_mod_end_date"`
	}
	if err := json.Unmarshal(p, &q); err != nil {
		return nil, err
	}
	r.fetches.Add(1)
	if r.gate != nil {
		if err := r.gate(ctx, q.StartIndex); err != nil {
			return nil, err
		}
	}
	nq := nvd.Query{StartIndex: q.StartIndex, ResultsPerPage: q.ResultsPerPage}
	if q.LastModStart != "" {
		s, err1 := time.Parse(time.RFC3339, q.LastModStart)
		e, err2 := time.Parse(time.RFC3339, q.LastModEnd)
		if err := errors.Join(err1, err2); err != nil {
			return nil, rpc.Errorf(rpc.CodeInvalid, "dates: %v", err)
		}
		nq.LastModStart, nq.LastModEnd = s, e
	}
	pg, err := r.feed.FetchPage(ctx, nq)
	if err != nil {
		return nil, rpc.Errorf(rpc.CodeInvalid, "%v", err)
	}
	return map[string]any{"vulnerabilities": pg.Vulnerabilities, "total_results": pg.TotalResults, "result_count": len(pg.Vulnerabilities)}, nil
}

// transitions records the "fsm transition" log lines of provider machines.
type transitions struct {
	mu  sync.Mutex
	log []string // "machine:FROM->TO"
	// on, when set, sees every log line as it is written: its message and,
	// for a transition, "machine:FROM->TO". It runs in the logging goroutine.
	on func(msg, transition string)
}

// onEach sets tr.on.
func (tr *transitions) onEach(fn func(msg, transition string)) {
	tr.mu.Lock()
	tr.on = fn
	tr.mu.Unlock()
}

func (tr *transitions) Enabled(context.Context, slog.Level) bool { return true }
func (tr *transitions) Handle(_ context.Context, r slog.Record) error {
	tr.mu.Lock()
	on := tr.on
	tr.mu.Unlock()
	if r.Message != "fsm transition" {
		if on != nil {
			on(r.Message, "")
		}
		return nil
	}
	var id, from, to string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "id", "machine":
			if id == "" || a.Key == "id" {
				id = a.Value.String()
			}
		case "from":
			from = a.Value.String()
		case "to":
			to = a.Value.String()
		}
		return true
	})
	line := fmt.Sprintf("%s:%s->%s", id, from, to)
	tr.mu.Lock()
	tr.log = append(tr.log, line)
	tr.mu.Unlock()
	if on != nil {
		on(r.Message, line)
	}
	return nil
}

// index is the position of the last line s in the log, or -1.
func (tr *transitions) index(s string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i := len(tr.log) - 1; i >= 0; i-- {
		if tr.log[i] == s {
			return i
		}
	}
	return -1
}
func (tr *transitions) WithAttrs([]slog.Attr) slog.Handler { return tr }
func (tr *transitions) WithGroup(string) slog.Handler      { return tr }

func (tr *transitions) has(s string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, l := range tr.log {
		if l == s {
			return true
		}
	}
	return false
}

func (tr *transitions) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return fmt.Sprint(tr.log)
}

// newEngine opens a store at path and starts an engine on r.
func newEngine(t *testing.T, r *router, path string, tune func(*Config)) (*Engine, *transitions) {
	t.Helper()
	store, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	tr := &transitions{}
	cfg := Config{Store: store, Caller: r, CheckpointEvery: 100, PageSize: 200, Permits: 3,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond, QuotaRetry: 20 * time.Millisecond,
		Logger: slog.New(tr), Assets: Assets{AttackDir: "../../assets/attack"}}
	if tune != nil {
		tune(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		store.Close()
	})
	return e, tr
}

// eventually polls cond until it holds or 30s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sessionState(e *Engine) string {
	st := e.sessions.status()
	if !st.HasSession {
		return "none"
	}
	return st.State.String()
}
