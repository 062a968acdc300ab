package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/permit"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

func startSession(t *testing.T, e *Engine, id string, start, batch int) {
	t.Helper()
	if _, err := e.sessions.start(SessionParams{SessionID: id, DataType: ProviderCVE, StartIndex: start, ResultsPerBatch: batch}); err != nil {
		t.Fatalf("start session: %v", err)
	}
}

func storedCount(t *testing.T, r *router) int {
	t.Helper()
	n, err := r.cves.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkEqualFeed compares every stored record with the feed's, field for field.
func checkEqualFeed(t *testing.T, r *router) {
	t.Helper()
	if got, want := storedCount(t, r), r.feed.Len(); got != want {
		t.Fatalf("stored %d CVEs, the feeds hold %d", got, want)
	}
	for i := 0; i < r.feed.Len(); i += 97 {
		id := r.feed.ID(i)
		got, err := r.cves.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(r.feed.AppendRaw(nil, i), &b); err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("%s: stored record differs from the feed's", id)
		}
	}
}

func TestFullSyncStoresTheFeeds(t *testing.T) {
	r := newRouter(t, 10)
	e, _ := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	startSession(t, e, "full", 0, 200)
	if _, err := e.sessions.start(SessionParams{SessionID: "again"}); err == nil || !strings.Contains(err.Error(), "session already exists") {
		t.Fatalf("second start: %v", err)
	}
	eventually(t, "session completed", func() bool { return sessionState(e) == "completed" })
	checkEqualFeed(t, r)
	st := e.sessions.status()
	if st.StoredCount != int64(r.feed.Len()) || st.FetchedCount != int64(r.feed.Len()) || st.Progress == nil ||
		st.Progress.Done != st.Progress.Total || st.Progress.Total != int64(r.feed.Len()) {
		t.Fatalf("status %+v progress %+v", st, st.Progress)
	}
	cps, total, err := e.store.ListCheckpoints(ProviderCVE, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	// one every 100 records and one for the last record
	if want := r.feed.Len()/100 + 1; total != want {
		t.Fatalf("%d checkpoints, want %d", total, want)
	}
	if last := r.feed.ID(r.feed.Len() - 1); cps[0].URN.String() != "v2e::nvd::cve::"+last {
		t.Fatalf("last checkpoint %s, want the last record %s", cps[0].URN, last)
	}
	tree, err := e.Tree()
	if err != nil {
		t.Fatal(err)
	}
	if tree.Providers[0].State != fsm.ProviderTerminated || tree.Macro.State != fsm.MacroStabilizing || tree.TotalCheckpoints != total {
		t.Fatalf("tree %+v", tree)
	}
	if r.pool.Available() != 10 {
		t.Fatalf("permits not all released: %d available", r.pool.Available())
	}
	// A second run of the provider is incremental: a lastModified window.
	var sawWindow atomic.Bool
	r.gate = func(_ context.Context, _ int) error { return nil }
	r.handle("remote.RPCFetchCVEs", func(ctx context.Context, p json.RawMessage) (any, error) {
		if bytes.Contains(p, []byte("last_mod_start_date")) {
			sawWindow.Store(true)
		}
		return r.fetchCVEs(ctx, p)
	})
	if _, err := e.sessions.stop(); err != nil {
		t.Fatal(err)
	}
	if err := e.StartProvider(ProviderCVE, StartOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "incremental run done", func() bool { return e.providers[ProviderCVE].state() == fsm.ProviderTerminated })
	if !sawWindow.Load() || e.providers[ProviderCVE].record().LastError != "" {
		t.Fatalf("incremental run: window %v, record %+v", sawWindow.Load(), e.providers[ProviderCVE].record())
	}
}

func TestSessionControlsAndErrors(t *testing.T) {
	r := newRouter(t, 10)
	release := make(chan struct{})
	var blocked atomic.Bool
	r.gate = func(ctx context.Context, start int) error {
		if start >= 400 && !blocked.Load() {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	e, tr := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	for name, fn := range map[string]func() error{"pause": e.sessions.pause, "resume": e.sessions.resume} {
		if err := fn(); err == nil || !strings.Contains(err.Error(), map[string]string{"pause": "not running", "resume": "not paused"}[name]) {
			t.Fatalf("%s without session: %v", name, err)
		}
	}
	if _, err := e.sessions.stop(); err == nil || !strings.Contains(err.Error(), "no active session") {
		t.Fatalf("stop without session: %v", err)
	}
	startSession(t, e, "s1", 0, 100)
	eventually(t, "first pages stored", func() bool { return storedCount(t, r) >= 300 })
	if err := e.sessions.resume(); err == nil || !strings.Contains(err.Error(), "not paused") {
		t.Fatalf("resume while running: %v", err)
	}
	if err := e.sessions.pause(); err != nil {
		t.Fatal(err)
	}
	if s := sessionState(e); s != "paused" || e.providers[ProviderCVE].state() != fsm.ProviderPaused {
		t.Fatalf("after pause: session %s provider %s", s, e.providers[ProviderCVE].state())
	}
	if err := e.sessions.pause(); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("pause while paused: %v", err)
	}
	if r.pool.Available() != 10 {
		t.Fatalf("paused provider holds permits: %d available", r.pool.Available())
	}
	paused := storedCount(t, r)
	blocked.Store(true)
	close(release)
	if err := e.sessions.resume(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "completed after resume", func() bool { return sessionState(e) == "completed" })
	if storedCount(t, r) != r.feed.Len() || paused >= r.feed.Len() {
		t.Fatalf("stored %d (paused at %d)", storedCount(t, r), paused)
	}
	for _, want := range []string{"s1:queued->running", "s1:running->paused", "s1:paused->running", "s1:running->completed",
		"cve:RUNNING->PAUSED", "cve:PAUSED->ACQUIRING", "cve:RUNNING->TERMINATED"} {
		if !tr.has(want) {
			t.Errorf("no transition %s in %s", want, tr)
		}
	}
	s, err := e.sessions.stop()
	if err != nil || s.StoredCount != int64(r.feed.Len()) {
		t.Fatalf("stop: %+v %v", s, err)
	}
	if st := e.sessions.status(); st.HasSession {
		t.Fatalf("has_session after stop: %+v", st)
	}
	// Stop of a running session.
	startSession(t, e, "s2", 0, 100)
	if _, err := e.sessions.stop(); err != nil {
		t.Fatal(err)
	}
	if e.providers[ProviderCVE].state() != fsm.ProviderTerminated || e.sessions.status().HasSession {
		t.Fatalf("after stop: %s", e.providers[ProviderCVE].state())
	}
}

// A session that follows its provider to an end (paused, completed) does so
// once the provider is in that state: whoever sees the session end finds the
// provider free, and a new session starts at once (contract §5: a start is
// refused only while a session is active).
func TestSessionEndFollowsProviderState(t *testing.T) {
	r := newRouter(t, 10)
	release := make(chan struct{})
	r.gate = holdFrom(400, release)
	e, tr := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	p := e.providers[ProviderCVE]
	var mu sync.Mutex
	seen := map[string]fsm.ProviderState{} // session transition -> provider state as the session made it
	tr.onEach(func(_, tn string) {
		if strings.HasPrefix(tn, "s1:") {
			st := p.state()
			mu.Lock()
			seen[tn] = st
			mu.Unlock()
		}
	})
	startSession(t, e, "s1", 0, 100)
	eventually(t, "first pages stored", func() bool { return storedCount(t, r) >= 300 })
	if err := e.sessions.pause(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := e.sessions.resume(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "completed", func() bool { return sessionState(e) == "completed" })
	mu.Lock()
	for tn, want := range map[string]fsm.ProviderState{"s1:running->paused": fsm.ProviderPaused,
		"s1:running->completed": fsm.ProviderTerminated} {
		if got, ok := seen[tn]; !ok || got != want {
			t.Errorf("session made %s with its provider %s (seen %v), want %s", tn, got, ok, want)
		}
	}
	mu.Unlock()
	if _, err := e.sessions.stop(); err != nil {
		t.Fatal(err)
	}
	startSession(t, e, "s2", 0, 100)
}

// settleGate holds the cve provider's loop in the hooks of the transition
// that ends its first run, at the macro FSM's move to STABILIZING (the
// provider record is TERMINATED, the session has not followed yet), until
// something waits for that loop to return.
type settleGate struct {
	reached, waiting, release chan struct{}
	once                      sync.Once
}

func gateFirstSettle(t *testing.T, tr *transitions) *settleGate {
	g := &settleGate{reached: make(chan struct{}), waiting: make(chan struct{}), release: make(chan struct{})}
	var held, waited atomic.Bool
	tr.onEach(func(msg, tn string) {
		switch {
		case tn == fsm.MacroID+":ORCHESTRATING->STABILIZING" && held.CompareAndSwap(false, true):
			close(g.reached)
			<-g.release
		case msg == "waiting for the settled run's loop to return" && waited.CompareAndSwap(false, true):
			close(g.waiting)
		}
	})
	t.Cleanup(g.open)
	return g
}

func (g *settleGate) open() { g.once.Do(func() { close(g.release) }) }

// after runs start in a goroutine while the gated loop is held: start must
// wait for that loop rather than refuse. It returns start's error.
func (g *settleGate) after(t *testing.T, start func() error) error {
	t.Helper()
	<-g.reached
	errc := make(chan error, 1)
	go func() { errc <- start() }()
	select {
	case err := <-errc:
		g.open()
		t.Fatalf("start returned while the last run's loop was still in its hooks: %v", err)
	case <-g.waiting:
		g.open()
	}
	return <-errc
}

// A provider run that has settled may still be in its last transition's
// hooks: a start then waits for that loop instead of failing.
func TestStartProviderAfterSettledRun(t *testing.T) {
	r := newRouter(t, 10)
	e, tr := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	p := e.providers[ProviderCVE]
	g := gateFirstSettle(t, tr)
	if err := e.StartProvider(ProviderCVE, StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := g.after(t, func() error { return e.StartProvider(ProviderCVE, StartOptions{}) }); err != nil {
		t.Fatalf("second start: %v", err)
	}
	eventually(t, "second run done", func() bool { return p.state() == fsm.ProviderTerminated && !p.running() })
	if n := strings.Count(tr.String(), "cve:IDLE->ACQUIRING"); n != 2 {
		t.Fatalf("%d runs, want 2: %s", n, tr)
	}
}

// A session started while the provider's last run (outside a session) is
// still in its hooks is not moved by that run: it follows its own run.
func TestSessionAfterSettledRun(t *testing.T) {
	r := newRouter(t, 10)
	e, tr := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	g := gateFirstSettle(t, tr)
	if err := e.StartProvider(ProviderCVE, StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := g.after(t, func() error {
		_, err := e.sessions.start(SessionParams{SessionID: "s2", DataType: ProviderCVE, ResultsPerBatch: 100})
		return err
	}); err != nil {
		t.Fatalf("start session: %v", err)
	}
	eventually(t, "session ended", func() bool { return e.sessions.active() == nil })
	if st := sessionState(e); st != "completed" {
		t.Fatalf("session %s", st)
	}
	if started, ended := tr.index("cve:IDLE->ACQUIRING"), tr.index("s2:running->completed"); started < 0 || ended < started {
		t.Fatalf("session completed before its run started: %s", tr)
	}
	checkEqualFeed(t, r)
}

func TestRestartResumesFromCheckpoint(t *testing.T) {
	r := newRouter(t, 10)
	path := filepath.Join(t.TempDir(), "session.db")
	hold := make(chan struct{})
	r.gate = holdFrom(1000, hold)
	e1, _ := newEngine(t, r, path, nil)
	startSession(t, e1, "crash", 0, 100)
	eventually(t, "1000 stored", func() bool { return e1.providers[ProviderCVE].record().ProcessedCount >= 1000 })
	if err := e1.Close(); err != nil { // as at SIGTERM: state stays RUNNING on disk
		t.Fatal(err)
	}
	e1.store.Close()
	close(hold)
	var first atomic.Int64
	first.Store(-1)
	r.gate = func(_ context.Context, start int) error {
		first.CompareAndSwap(-1, int64(start))
		return nil
	}
	e2, tr := newEngine(t, r, path, nil)
	eventually(t, "resumed session completed", func() bool { return sessionState(e2) == "completed" })
	if first.Load() < 1000 {
		t.Fatalf("resumed from start_index %d, want >= 1000 (the checkpoint)", first.Load())
	}
	for _, want := range []string{"cve:RUNNING->WAITING_QUOTA", "cve:WAITING_QUOTA->ACQUIRING", "cve:ACQUIRING->RUNNING"} {
		if !tr.has(want) {
			t.Errorf("recovery lacks %s: %s", want, tr)
		}
	}
	checkEqualFeed(t, r)
}

func TestRecoveryKeepsPausedAndBackoff(t *testing.T) {
	r := newRouter(t, 10)
	path := filepath.Join(t.TempDir(), "session.db")
	store, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(300 * time.Millisecond)
	cur, _ := json.Marshal(importCursor{Total: 1})
	recs := []bolt.ProviderRecord{
		{ID: ProviderCVE, Type: ProviderCVE, State: fsm.ProviderPaused, Cursor: json.RawMessage(`{"mode":"full","next":2600,"done":2600,"page_size":100}`)},
		{ID: ProviderCWE, Type: ProviderCWE, State: fsm.ProviderWaitingBackoff, BackoffUntil: until, Cursor: cur},
		{ID: ProviderCAPEC, Type: ProviderCAPEC, State: fsm.ProviderTerminated},
	}
	for i := range recs {
		if err := store.SaveProvider(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.SaveSession(&bolt.Session{ID: "p", State: fsm.JobPaused, DataType: ProviderCVE}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	r.handle("local.RPCImportCWEs", func(context.Context, json.RawMessage) (any, error) {
		return map[string]any{"success": true, "count": 7}, nil
	})
	e, _ := newEngine(t, r, path, nil)
	if st := e.providers[ProviderCWE].state(); st != fsm.ProviderWaitingBackoff && time.Now().Before(until) {
		t.Fatalf("cwe after restart: %s, want WAITING_BACKOFF until its deadline", st)
	}
	if e.providers[ProviderCVE].state() != fsm.ProviderPaused || sessionState(e) != "paused" || e.providers[ProviderCAPEC].state() != fsm.ProviderTerminated {
		t.Fatalf("cve %s session %s capec %s", e.providers[ProviderCVE].state(), sessionState(e), e.providers[ProviderCAPEC].state())
	}
	eventually(t, "cwe imported after its backoff", func() bool { return e.providers[ProviderCWE].state() == fsm.ProviderTerminated })
	if time.Now().Before(until) || e.providers[ProviderCWE].record().ProcessedCount != 7 {
		t.Fatalf("cwe ended early or without its count: %+v", e.providers[ProviderCWE].record())
	}
	if err := e.sessions.resume(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "session completed from its cursor", func() bool { return sessionState(e) == "completed" })
	if n := storedCount(t, r); n != r.feed.Len()-2600 {
		t.Fatalf("stored %d, want the %d after the cursor", n, r.feed.Len()-2600)
	}
}

func TestThrottleWaitsInBackoff(t *testing.T) {
	r := newRouter(t, 10)
	var throttle atomic.Bool
	throttle.Store(true)
	r.gate = func(_ context.Context, start int) error {
		if start >= 500 && throttle.Load() {
			return rpc.Errorf(rpc.CodeUnavailable, "nvd: retry budget exhausted: NVD answered HTTP 403 Forbidden")
		}
		return nil
	}
	e, tr := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	startSession(t, e, "t", 0, 100)
	eventually(t, "WAITING_BACKOFF", func() bool { return tr.has("cve:RUNNING->WAITING_BACKOFF") })
	eventually(t, "backoff retried", func() bool { return tr.has("cve:WAITING_BACKOFF->ACQUIRING") })
	throttle.Store(false)
	eventually(t, "completed", func() bool { return sessionState(e) == "completed" })
	checkEqualFeed(t, r)
	if rec := e.providers[ProviderCVE].record(); rec.LastError != "" {
		t.Fatalf("record %+v", rec)
	}
}

func TestRevocationWaitsForQuota(t *testing.T) {
	r := newRouter(t, 10)
	hold := make(chan struct{})
	r.gate = holdFrom(600, hold)
	e, tr := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	startSession(t, e, "q", 0, 100)
	eventually(t, "600 stored", func() bool { return storedCount(t, r) >= 600 })
	h := permit.Holder{Service: "meta", Provider: ProviderCVE}
	if got := r.pool.Held(h); got != 3 {
		t.Fatalf("cve holds %d permits, want 3", got)
	}
	// The broker takes 2 back and tells meta.
	lost := r.pool.SetLimit(1)
	e.OnQuotaUpdate(QuotaUpdate{RevokedPermits: lost[h], Reason: "p99_latency_ms 45.0 > 30", ProviderID: ProviderCVE})
	eventually(t, "WAITING_QUOTA and back", func() bool {
		return tr.has("cve:RUNNING->WAITING_QUOTA") && tr.has("cve:WAITING_QUOTA->ACQUIRING")
	})
	eventually(t, "running with one permit", func() bool {
		return e.providers[ProviderCVE].state() == fsm.ProviderRunning && e.providers[ProviderCVE].record().PermitsHeld == 1
	})
	close(hold)
	eventually(t, "completed", func() bool { return sessionState(e) == "completed" })
	checkEqualFeed(t, r)
	if r.pool.Held(h) != 0 {
		t.Fatalf("permits kept after completion: %d", r.pool.Held(h))
	}
	evs, err := e.store.ListPermitEvents(ProviderCVE, 0)
	if err != nil || len(evs) < 3 {
		t.Fatalf("permit history %v %v", evs, err)
	}
}

func TestNoPermitMethodsRunWithOneWorker(t *testing.T) {
	r := newRouter(t, 0)
	var inFlight, most atomic.Int64
	r.gate = func(context.Context, int) error {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		return nil
	}
	e, _ := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	startSession(t, e, "n", 0, 200)
	eventually(t, "completed", func() bool { return sessionState(e) == "completed" })
	checkEqualFeed(t, r)
	if most.Load() != 1 {
		t.Fatalf("%d fetches at once without permits, want 1", most.Load())
	}
}

func TestStartupImports(t *testing.T) {
	r := newRouter(t, 10)
	var order []string
	imp := func(name string) func(context.Context, json.RawMessage) (any, error) {
		return func(_ context.Context, p json.RawMessage) (any, error) {
			order = append(order, name+string(p))
			return map[string]any{"success": true, "count": 10}, nil
		}
	}
	r.handle("local.RPCImportCAPECs", imp("capec"))
	r.handle("local.RPCImportATTACKs", imp("attack"))
	// local has no RPCImportCWEs: cwe fails with a clear error, the others run.
	e, _ := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), func(c *Config) { c.StartupImports = true })
	eventually(t, "imports settled", func() bool {
		return e.providers[ProviderAttack].state() == fsm.ProviderTerminated && e.providers[ProviderCWE].state() == fsm.ProviderTerminated
	})
	cwe := e.providers[ProviderCWE].record()
	if !strings.Contains(cwe.LastError, "no handler found for method: RPCImportCWEs") || cwe.ErrorCount != 1 {
		t.Fatalf("cwe record %+v", cwe)
	}
	if r.count("local.RPCImportCWEs") != 1 {
		t.Fatalf("RPCImportCWEs called %d times, want 1 (no hot loop)", r.count("local.RPCImportCWEs"))
	}
	if len(order) != 4 || !strings.HasPrefix(order[0], "capec") || !strings.Contains(order[1], "enterprise-attack") {
		t.Fatalf("import order %v", order)
	}
	att := e.providers[ProviderAttack].record()
	if att.ProcessedCount != 30 || att.LastError != "" || att.LastCheckpoint.String() != "v2e::mitre::attack::mobile-attack-v18.1.xlsx" {
		t.Fatalf("attack record %+v", att)
	}
	cps, total, err := e.store.ListCheckpoints(ProviderCWE, 10, false)
	if err != nil || total != 1 || cps[0].Success || !strings.Contains(cps[0].ErrorMessage, "RPCImportCWEs") {
		t.Fatalf("cwe checkpoints %+v %d %v", cps, total, err)
	}
}

func TestGetCVELocalThenRemote(t *testing.T) {
	r := newSQLiteRouter(t, 10)
	e, _ := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	id := r.feed.ID(5)
	get := func() (string, json.RawMessage) {
		out, err := e.hGetCVE(context.Background(), json.RawMessage(`{"cve_id":"`+strings.ToLower(id)+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		m := out.(map[string]any)
		return m["source"].(string), m["cve"].(json.RawMessage)
	}
	if src, raw := get(); src != "remote" || cveID(raw) != id {
		t.Fatalf("first get: %s %s", src, cveID(raw))
	}
	if src, _ := get(); src != "local" {
		t.Fatalf("second get from %s, want local", src)
	}
	if _, err := e.hDeleteCVE(context.Background(), json.RawMessage(`{"cve_id":"`+id+`"}`)); err != nil {
		t.Fatal(err)
	}
	_, err := e.hGetCVE(context.Background(), json.RawMessage(`{"cve_id":"CVE-1999-99999"}`))
	if !errors.Is(err, rpc.NotFound) {
		t.Fatalf("unknown CVE: %v", err)
	}
	if _, err := e.hGetCVE(context.Background(), json.RawMessage(`{}`)); err == nil || !strings.Contains(err.Error(), "cve_id") {
		t.Fatalf("missing cve_id: %v", err)
	}
}

func TestIsThrottle(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{rpc.Errorf(rpc.CodeUnavailable, "target process \"remote\" is not running"), true},
		{rpc.Errorf(rpc.CodeInternal, "nvd: retry budget exhausted: NVD answered HTTP 429 Too Many Requests"), true},
		{rpc.Errorf(rpc.CodeInternal, "HTTP 403 Forbidden"), true},
		{errors.New("rate limited by NVD"), true},
		{rpc.NoHandler("RPCFetchCVEs"), false},
		{rpc.Errorf(rpc.CodeInvalid, "generate: bad start_index"), false},
		{nil, false},
	} {
		if got := IsThrottle(c.err); got != c.want {
			t.Errorf("IsThrottle(%v) = %v", c.err, got)
		}
	}
}

func TestSortByID(t *testing.T) {
	items := []json.RawMessage{
		json.RawMessage(`{"id":"CVE-2021-10000","n":1}`),
		json.RawMessage(`{"id":"bad","n":2}`),
		json.RawMessage(`{"id":"CVE-2021-9999","n":3}`),
		json.RawMessage(`{"sourceIdentifier":"x","id":"CVE-2003-0001","n":4}`),
		json.RawMessage(`{"id":"CVE-2021-10000","n":5}`),
		json.RawMessage(`{"n":6}`),
		json.RawMessage(`{"id":"cve-2021-9999","n":7}`),
	}
	sortByID(items)
	var got []int
	for _, it := range items {
		var v struct{ N int }
		if err := json.Unmarshal(it, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v.N)
	}
	// Year, then number (9999 before 10000); the same id keeps its order;
	// ids that are not valid last, in their order.
	if want := []int{4, 3, 7, 1, 5, 2, 6}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sorted records %v, want %v", got, want)
	}
	sortByID(nil)
}

func FuzzCVEID(f *testing.F) {
	f.Add([]byte(`{"id":"CVE-2021-44228","x":1}`))
	f.Add([]byte(`{"sourceIdentifier":"a","id":"CVE-1"}`))
	f.Add([]byte(`{"id":"CVE-\"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &v) != nil || bytes.Count(bytes.ToLower(b), []byte(`"id"`)) > 1 || bytes.ContainsRune(b, '\\') {
			return // duplicate or escaped keys: not what NVD sends
		}
		if got := cveID(b); got != v.ID {
			t.Fatalf("cveID(%q) = %q, encoding/json says %q", b, got, v.ID)
		}
	})
}

func TestRecoveryStartsARunThatNeverBegan(t *testing.T) {
	r := newRouter(t, 10)
	path := filepath.Join(t.TempDir(), "session.db")
	store, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	// meta died after the session was marked running, before its provider
	// run was persisted.
	if err := store.SaveSession(&bolt.Session{ID: "early", State: fsm.JobRunning, DataType: ProviderCVE, StartIndex: 2000, ResultsPerBatch: 300}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	e, _ := newEngine(t, r, path, nil)
	eventually(t, "session completed", func() bool { return sessionState(e) == "completed" })
	if n := storedCount(t, r); n != r.feed.Len()-2000 {
		t.Fatalf("stored %d, want %d (from start_index 2000)", n, r.feed.Len()-2000)
	}
}

func TestRefusedRecordsAreSkipped(t *testing.T) {
	ms := &memStore{m: map[string]json.RawMessage{}, bad: map[string]bool{}}
	r := newRouterOn(t, 10, ms)
	bad := []string{r.feed.ID(3), r.feed.ID(1500), r.feed.ID(r.feed.Len() - 2)}
	for _, id := range bad {
		ms.bad[id] = true
	}
	e, _ := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	startSession(t, e, "bad", 0, 500)
	eventually(t, "completed", func() bool { return sessionState(e) == "completed" })
	if n := storedCount(t, r); n != r.feed.Len()-len(bad) {
		t.Fatalf("stored %d, want %d", n, r.feed.Len()-len(bad))
	}
	st := e.sessions.status()
	if st.ErrorCount != 3 || st.StoredCount != int64(r.feed.Len()-3) {
		t.Fatalf("status %+v", st)
	}
	cps, _, err := e.store.ListCheckpoints(ProviderCVE, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, c := range cps {
		if !c.Success {
			failed[c.URN.ID()] = true
		}
	}
	for _, id := range bad {
		if !failed[id] {
			t.Errorf("no failed checkpoint for %s", id)
		}
	}
}

type catalog struct {
	methods map[string]bool
	events  map[string]bool
}

func (c *catalog) Register(m service.Method, _ service.Handler) { c.methods[m.Name] = true }
func (c *catalog) OnEvent(id string, _ service.EventHandler)    { c.events[id] = true }

func TestRegisterServesTheContract(t *testing.T) {
	r := newRouter(t, 10)
	e, _ := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), nil)
	c := &catalog{methods: map[string]bool{}, events: map[string]bool{}}
	e.Register(c)
	for _, m := range []string{"RPCGetCVE", "RPCCreateCVE", "RPCUpdateCVE", "RPCDeleteCVE", "RPCListCVEs", "RPCCountCVEs",
		"RPCStartSession", "RPCStartTypedSession", "RPCGetSessionStatus", "RPCPauseJob", "RPCResumeJob", "RPCStopSession",
		"RPCGetEtlTree", "RPCGetProviderCheckpoints", "RPCStartProvider", "RPCPauseProvider", "RPCResumeProvider", "RPCStopProvider"} {
		if !c.methods[m] {
			t.Errorf("%s not registered", m)
		}
	}
	if !c.events["RPCOnQuotaUpdate"] {
		t.Error("RPCOnQuotaUpdate not handled")
	}
}

// TestStoresAheadCheckpointsInOrder holds local's save of one page: later
// pages are fetched and stored meanwhile (at most SavesInFlight saves at
// once, even with a single permit), but the cursor and the checkpoints stay
// before the held page until it is stored.
func TestStoresAheadCheckpointsInOrder(t *testing.T) {
	for _, permits := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d permits", permits), func(t *testing.T) { testStoresAhead(t, permits) })
	}
}

func testStoresAhead(t *testing.T, permits int) {
	r := newRouter(t, 10)
	index := map[string]int{} // feed position of each id
	for i := range r.feed.Len() {
		index[r.feed.ID(i)] = i
	}
	const held = 400 // the third 200-record page
	hold := make(chan struct{})
	var inFlight, most, after atomic.Int64
	save := r.h["local.RPCSaveCVEs"]
	r.handle("local.RPCSaveCVEs", func(ctx context.Context, p json.RawMessage) (any, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		var b struct{ CVEs []json.RawMessage }
		if err := json.Unmarshal(p, &b); err != nil || len(b.CVEs) == 0 {
			t.Errorf("save batch: %d records, %v", len(b.CVEs), err)
			return save(ctx, p)
		}
		i := index[cveID(b.CVEs[0])] // the page's first feed position (meta sends a page in id order)
		for _, c := range b.CVEs[1:] {
			i = min(i, index[cveID(c)])
		}
		switch {
		case i == held:
			select {
			case <-hold:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		case i > held:
			defer after.Add(1)
		}
		return save(ctx, p)
	})
	e, _ := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), func(c *Config) { c.Permits = permits })
	startSession(t, e, "ahead", 0, 200)
	eventually(t, "a page after the held one stored", func() bool { return after.Load() > 0 })
	rec := e.providers[ProviderCVE].record()
	var cur cveCursor
	if err := json.Unmarshal(rec.Cursor, &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Next > 400 || rec.ProcessedCount > 400 {
		t.Errorf("while page 400 is not stored: cursor next %d, processed %d; want both <= 400", cur.Next, rec.ProcessedCount)
	}
	if id := rec.LastCheckpoint.ID(); id == "" || index[id] >= held {
		t.Errorf("last checkpoint %q (feed position %d) not before the unstored page at %d", id, index[id], held)
	}
	close(hold)
	eventually(t, "session completed", func() bool { return sessionState(e) == "completed" })
	if m := most.Load(); m > 2 {
		t.Errorf("%d saves in flight at once, want at most SavesInFlight (2)", m)
	}
	checkEqualFeed(t, r)
}

// FuzzParseFetch checks parseFetch, which reads remote's RPCFetchCVEs
// result without decoding it, against encoding/json: whenever encoding/json
// reads the result (exact keys, integer total, no duplicates), parseFetch
// finds the same total and the same cve objects; it never accepts what
// encoding/json refuses.
func FuzzParseFetch(f *testing.F) {
	f.Add([]byte(`{"result_count":2,"start_index":0,"total_results":5,"vulnerabilities":[{"cve":{"id":"CVE-2026-0001"}},{"cve":{"id":"CVE-2026-0002","a":[1,2]}}]}`))
	f.Add([]byte(`{"total_results":0,"vulnerabilities":[]}`))
	f.Add([]byte(`{"total_results":null,"vulnerabilities":null}`))
	f.Add([]byte(`{"vulnerabilities":[{"cve":null},{}],"total_results":1.5}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		pg, err := parseFetch(raw)
		var want struct {
			Vulnerabilities []struct {
				CVE json.RawMessage `json:"cve"`
			} `json:"vulnerabilities"`
			TotalResults int `json:"total_results"`
		}
		werr := json.Unmarshal(raw, &want)
		if werr != nil {
			if err == nil && !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
				t.Fatalf("parseFetch(%q) accepted what encoding/json refuses: %v", raw, werr)
			}
			return
		}
		lower := bytes.ToLower(raw)
		for _, k := range []string{`"vulnerabilities"`, `"total_results"`, `"cve"`} {
			n := bytes.Count(lower, []byte(k))
			if n != bytes.Count(raw, []byte(k)) || n > 1 && k != `"cve"` || bytes.ContainsRune(raw, '\\') {
				return // duplicate, escaped or differently spelt keys: not what remote sends
			}
		}
		if err != nil {
			t.Fatalf("parseFetch(%q): %v; encoding/json reads it", raw, err)
		}
		var items []string
		for _, v := range want.Vulnerabilities {
			if len(v.CVE) > 0 && string(v.CVE) != "null" {
				items = append(items, string(v.CVE))
			}
		}
		if pg.total != want.TotalResults || len(pg.items) != len(items) {
			t.Fatalf("parseFetch(%q) = total %d, %d records; encoding/json %d, %d", raw, pg.total, len(pg.items), want.TotalResults, len(items))
		}
		for i := range items {
			var c bytes.Buffer
			_ = json.Compact(&c, []byte(items[i]))
			if string(pg.items[i]) != items[i] && string(pg.items[i]) != c.String() {
				t.Fatalf("parseFetch(%q) record %d = %s, encoding/json %s", raw, i, pg.items[i], items[i])
			}
		}
	})
}

// lendingCaller is the router as a LentCaller whose release overwrites the
// page it lent: a page given back before it is stored and committed would
// reach the store (or the checkpoints) as garbage.
type lendingCaller struct {
	*router
	lent, released atomic.Int64
}

func (l *lendingCaller) CallLent(ctx context.Context, target, method string, params any) (json.RawMessage, func(), error) {
	var raw json.RawMessage
	if err := l.Call(ctx, target, method, params, &raw); err != nil {
		return nil, func() {}, err
	}
	l.lent.Add(1)
	var once sync.Once
	return raw, func() {
		once.Do(func() {
			for i := range raw {
				raw[i] = 'X'
			}
			l.released.Add(1)
		})
	}, nil
}

func TestFullSyncGivesLentPagesBackAfterCommit(t *testing.T) {
	r := newRouter(t, 10)
	lc := &lendingCaller{router: r}
	e, _ := newEngine(t, r, filepath.Join(t.TempDir(), "session.db"), func(c *Config) { c.Caller = lc })
	startSession(t, e, "full", 0, 200)
	eventually(t, "session completed", func() bool { return sessionState(e) == "completed" })
	checkEqualFeed(t, r)
	cps, _, err := e.store.ListCheckpoints(ProviderCVE, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	if last := r.feed.ID(r.feed.Len() - 1); len(cps) == 0 || cps[0].URN.String() != "v2e::nvd::cve::"+last {
		t.Fatalf("last checkpoint %v, want the last record %s", cps, last)
	}
	if lc.lent.Load() == 0 || lc.released.Load() != lc.lent.Load() {
		t.Fatalf("%d pages lent, %d given back", lc.lent.Load(), lc.released.Load())
	}
}
