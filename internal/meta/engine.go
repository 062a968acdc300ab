package meta

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/taskflow"
	"github.com/v2e/v2e/internal/urn"
)

// Provider ids (contract §5).
const (
	ProviderCVE    = "cve"
	ProviderCWE    = "cwe"
	ProviderCAPEC  = "capec"
	ProviderAttack = "attack"
)

// Config configures an Engine. Store and Caller are required; zero values
// of the others take the defaults in brackets.
type Config struct {
	Store  *bolt.Store
	Caller Caller
	// CheckpointEvery: a checkpoint every this many records [100].
	CheckpointEvery int
	// PageSize: CVEs per RPCFetchCVEs page when the session gives none [2000].
	PageSize int
	// SavesInFlight: how many RPCSaveCVEs the cve job keeps under way at
	// once, so local prepares the next page while it writes one [2].
	SavesInFlight int
	// Permits: how many permits the cve provider asks for [4]; the
	// import providers ask for 1.
	Permits int
	Assets  Assets
	// StartupImports runs CWE, CAPEC and ATT&CK imports in Start.
	StartupImports bool
	// BackoffBase and BackoffMax shape the WAITING_BACKOFF delay, which
	// doubles while NVD keeps throttling [2s, 5m].
	BackoffBase, BackoffMax time.Duration
	// QuotaRetry: how often ACQUIRING asks again while nothing is granted [1s].
	QuotaRetry time.Duration
	// Overlap: how far an incremental sync reaches back before the end of
	// the last one [2h].
	Overlap time.Duration
	// ReadyTimeout bounds the wait for local and remote in Start [30s].
	ReadyTimeout time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

func (c *Config) defaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = 100
	}
	if c.PageSize <= 0 {
		c.PageSize = 2000
	}
	if c.SavesInFlight <= 0 {
		c.SavesInFlight = 2
	}
	if c.Permits <= 0 {
		c.Permits = 4
	}
	def(&c.BackoffBase, 2*time.Second)
	def(&c.BackoffMax, 5*time.Minute)
	def(&c.QuotaRetry, time.Second)
	def(&c.Overlap, 2*time.Hour)
	def(&c.ReadyTimeout, 30*time.Second)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Engine is the Unified ETL Engine: the macro FSM, the providers, the
// sessions and the checkpoint writer. Create it with New, register its
// handlers, call Start once the service is connected, and Close at the end.
type Engine struct {
	cfg       Config
	log       *slog.Logger
	store     *bolt.Store
	cw        *bolt.CheckpointWriter
	permits   *permitClient
	macro     *fsm.Macro
	providers map[string]*provider
	order     []string
	sessions  *sessions

	ready     chan struct{} // closed when Start has recovered the providers
	readyOnce sync.Once

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New loads the persisted provider states and returns an Engine whose
// providers do nothing until Start.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Caller == nil {
		return nil, errors.New("meta: Config.Store and Config.Caller are required")
	}
	cfg.defaults()
	e := &Engine{cfg: cfg, log: cfg.Logger, store: cfg.Store, order: []string{ProviderCVE, ProviderCWE, ProviderCAPEC, ProviderAttack}}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.ready = make(chan struct{})
	e.cw = cfg.Store.NewCheckpointWriter(bolt.WriterOptions{})
	e.permits = &permitClient{c: cfg.Caller, store: cfg.Store, log: e.log}
	e.macro = fsm.NewMacro(fsm.Config[fsm.MacroState]{ID: fsm.MacroID, Initial: fsm.MacroBootstrapping,
		Persist: cfg.Store.MacroPersister(), Logger: e.log, Now: cfg.Now})
	if err := cfg.Store.SaveMacro(&bolt.MacroRecord{ID: fsm.MacroID, State: fsm.MacroBootstrapping, Reason: "service started"}); err != nil {
		return nil, err
	}
	jobs := map[string]job{ProviderCVE: cveJob{e}, ProviderCWE: importJob{e, urn.CWE},
		ProviderCAPEC: importJob{e, urn.CAPEC}, ProviderAttack: importJob{e, urn.ATTACK}}
	e.providers = map[string]*provider{}
	for _, id := range e.order {
		rec, err := cfg.Store.LoadProvider(id)
		if err != nil && !errors.Is(err, bolt.ErrNotFound) {
			e.cw.Close()
			return nil, err
		}
		want := 1
		if id == ProviderCVE {
			want = cfg.Permits
		}
		e.providers[id] = newProvider(e, id, id, want, jobs[id], rec)
		e.macro.Track(id, rec.State)
	}
	e.sessions = &sessions{e: e}
	return e, nil
}

// Start recovers what was running (contract §7), ends bootstrapping and, when
// configured, runs the startup imports in the background.
func (e *Engine) Start(ctx context.Context) error {
	defer e.readyOnce.Do(func() { close(e.ready) })
	e.waitReady(ctx, targetLocal, "RPCCountCVEs")
	for _, id := range e.order {
		if err := e.providers[id].recover(); err != nil {
			return err
		}
	}
	if err := e.sessions.recover(); err != nil {
		return err
	}
	if err := e.macro.Ready(ctx); err != nil {
		return err
	}
	if e.cfg.StartupImports {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			if err := e.startupImports(e.ctx); err != nil {
				e.log.Warn("startup imports", "err", err)
			}
		}()
	}
	return nil
}

// waitReady polls target with method until it answers anything but
// "unavailable" (the broker has not started it yet), up to ReadyTimeout.
func (e *Engine) waitReady(ctx context.Context, target, method string) {
	deadline := e.cfg.Now().Add(e.cfg.ReadyTimeout)
	for {
		err := e.cfg.Caller.Call(ctx, target, method, nil, nil)
		if err == nil || !IsThrottle(err) || e.cfg.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startupImports runs CWE, then CAPEC, then ATT&CK, each as a provider run
// visible in the tree. A failed import is recorded on its provider
// (TERMINATED with last_error) and does not stop the next one.
func (e *Engine) startupImports(ctx context.Context) error {
	f := taskflow.New()
	task := func(id string) taskflow.Func {
		return func(ctx context.Context) error {
			p := e.providers[id]
			if st := p.state(); st == fsm.ProviderIdle || st == fsm.ProviderTerminated {
				if err := p.start(StartOptions{Startup: true}); err != nil {
					e.log.Warn("startup import not started", "provider", id, "err", err)
					return nil
				}
			}
			return p.wait(ctx)
		}
	}
	f.Add(ProviderCWE, task(ProviderCWE))
	f.Add(ProviderCAPEC, task(ProviderCAPEC), ProviderCWE)
	f.Add(ProviderAttack, task(ProviderAttack), ProviderCAPEC)
	return f.Run(ctx, taskflow.RunOptions{Limiter: taskflow.NewLimiter(1), Logger: e.log})
}

// awaitReady waits until Start has recovered the providers, so that a
// control request never races recovery.
func (e *Engine) awaitReady(ctx context.Context) error {
	select {
	case <-e.ready:
		return nil
	case <-ctx.Done():
		return rpc.Errorf(rpc.CodeUnavailable, "meta is still recovering: %v", ctx.Err())
	}
}

// Close stops every provider where it is (its state stays persisted for
// recovery), drains the macro FSM and flushes the checkpoint writer. The
// Store stays open: its owner closes it. Safe to call twice.
func (e *Engine) Close() error {
	var err error
	e.once.Do(func() {
		e.readyOnce.Do(func() { close(e.ready) })
		for _, id := range e.order {
			e.providers[id].shutdown()
		}
		e.cancel()
		e.wg.Wait()
		err = errors.Join(e.cw.Close(), e.macro.Drain(context.Background(), "service stopping"))
	})
	return err
}

// onProviderTransition is every provider Machine's hook: it bubbles the
// event to the macro FSM and moves the session that runs the provider.
func (e *Engine) onProviderTransition(ctx context.Context, t fsm.Transition[fsm.ProviderState]) {
	if err := e.macro.Observe(ctx, fsm.EventFor(t)); err != nil {
		e.log.Error("macro transition failed", "err", err)
	}
	e.sessions.follow(t)
}

// Provider returns the provider with id, or an invalid-params error.
func (e *Engine) provider(id string) (*provider, error) {
	p, ok := e.providers[id]
	if !ok {
		return nil, invalid("provider_id %q is unknown (want cve, cwe, capec or attack)", id)
	}
	return p, nil
}

// QuotaUpdate is the body of the broker's RPCOnQuotaUpdate event.
type QuotaUpdate struct {
	RevokedPermits int             `json:"revoked_permits"`
	Reason         string          `json:"reason"`
	ProviderID     string          `json:"provider_id,omitempty"`
	KernelMetrics  json.RawMessage `json:"kernel_metrics,omitempty"`
}

// OnQuotaUpdate applies a revocation: the named provider (or, without one,
// the providers holding the most permits) lose what was revoked and go to
// WAITING_QUOTA until they re-acquire. A zero revocation is a restore:
// providers waiting for permits ask again at once.
func (e *Engine) OnQuotaUpdate(u QuotaUpdate) {
	e.log.Info("quota update", "revoked", u.RevokedPermits, "reason", u.Reason, "provider", u.ProviderID)
	if u.RevokedPermits <= 0 {
		for _, id := range e.order {
			e.providers[id].nudge()
		}
		return
	}
	if p, ok := e.providers[u.ProviderID]; ok {
		p.revoke(u.RevokedPermits, u.Reason)
		return
	}
	left := u.RevokedPermits
	for left > 0 {
		var top *provider
		for _, id := range e.order {
			p := e.providers[id]
			if p.record().PermitsHeld > 0 && (top == nil || p.record().PermitsHeld > top.record().PermitsHeld) {
				top = p
			}
		}
		if top == nil {
			return
		}
		left -= top.revoke(left, u.Reason)
	}
}

// Tree is the result of RPCGetEtlTree.
type Tree struct {
	Macro            MacroNode      `json:"macro_fsm"`
	Providers        []ProviderNode `json:"providers"`
	TotalCheckpoints int            `json:"total_checkpoints"`
}

// MacroNode is the macro FSM in the tree.
type MacroNode struct {
	ID        string                       `json:"id"`
	State     fsm.MacroState               `json:"state"`
	Providers map[string]fsm.ProviderState `json:"providers"`
	UpdatedAt time.Time                    `json:"updated_at,omitzero"`
}

// ProviderNode is one provider in the tree.
type ProviderNode struct {
	ID             string            `json:"id"`
	Type           string            `json:"type"`
	State          fsm.ProviderState `json:"state"`
	ProcessedCount int64             `json:"processed_count"`
	ErrorCount     int64             `json:"error_count"`
	PermitsHeld    int               `json:"permits_held"`
	LastCheckpoint string            `json:"last_checkpoint"`
	LastError      string            `json:"last_error,omitempty"`
	BackoffUntil   time.Time         `json:"backoff_until,omitzero"`
	UpdatedAt      time.Time         `json:"updated_at,omitzero"`
	Progress       Progress          `json:"progress"`
	// CheckpointSeconds is the time the ingest path spent queueing
	// checkpoints since meta started (the checkpoint overhead).
	CheckpointSeconds float64 `json:"checkpoint_seconds"`
}

// Tree returns the macro FSM, every provider and the checkpoint total.
func (e *Engine) Tree() (Tree, error) {
	t := Tree{Macro: MacroNode{ID: fsm.MacroID, State: e.macro.State(), Providers: e.macro.Providers()}}
	if r, err := e.store.LoadMacro(fsm.MacroID); err == nil {
		t.Macro.UpdatedAt = r.UpdatedAt
	}
	for _, id := range e.order {
		p := e.providers[id]
		r := p.record()
		n := ProviderNode{ID: r.ID, Type: r.Type, State: r.State, ProcessedCount: r.ProcessedCount,
			ErrorCount: r.ErrorCount, PermitsHeld: r.PermitsHeld, LastError: r.LastError, UpdatedAt: r.UpdatedAt,
			Progress: p.progress(), CheckpointSeconds: p.checkpointTime().Seconds()}
		if !r.LastCheckpoint.IsZero() {
			n.LastCheckpoint = r.LastCheckpoint.String()
		}
		if r.State == fsm.ProviderWaitingBackoff {
			n.BackoffUntil = r.BackoffUntil
		}
		t.Providers = append(t.Providers, n)
	}
	n, err := e.store.TotalCheckpoints()
	t.TotalCheckpoints = n
	return t, err
}

// StartProvider begins a new run of provider id.
func (e *Engine) StartProvider(id string, o StartOptions) error {
	p, err := e.provider(id)
	if err != nil {
		return err
	}
	if s := e.sessions.active(); s != nil && s.DataType == id {
		return conflict("provider %q runs session %q: use the session methods", id, s.ID)
	}
	return p.start(o)
}

// PauseProvider, ResumeProvider and StopProvider control provider id.
func (e *Engine) PauseProvider(id string) error  { return e.control(id, (*provider).pause) }
func (e *Engine) ResumeProvider(id string) error { return e.control(id, (*provider).resume) }
func (e *Engine) StopProvider(id string) error   { return e.control(id, (*provider).stop) }

func (e *Engine) control(id string, fn func(*provider) error) error {
	p, err := e.provider(id)
	if err != nil {
		return err
	}
	return fn(p)
}

// ProviderState returns the current state of provider id.
func (e *Engine) ProviderState(id string) (fsm.ProviderState, error) {
	p, err := e.provider(id)
	if err != nil {
		return 0, err
	}
	return p.state(), nil
}
