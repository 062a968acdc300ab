package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
	"github.com/v2e/v2e/internal/taskflow"
	"github.com/v2e/v2e/internal/urn"
)

// Causes with which a provider's contexts are cancelled.
var (
	errPause    = errors.New("paused by user")
	errStop     = errors.New("stopped by user")
	errShutdown = errors.New("meta is shutting down")
	errRevoked  = errors.New("permits revoked")
)

// Transition reasons that other parts of the engine read back.
const (
	reasonStopped   = "stopped by user"
	reasonCompleted = "completed"
)

// job is the work of one provider type.
type job interface {
	// begin returns the cursor a new run starts from, given the record of
	// the previous run (zero when none) and the start options.
	begin(prev bolt.ProviderRecord, o StartOptions) (json.RawMessage, error)
	// run does the rest of the run from p's cursor; nil means complete.
	run(ctx context.Context, p *provider) error
}

// StartOptions tune a new provider run.
type StartOptions struct {
	// Full forces a full CVE sync from StartIndex (sessions do); otherwise
	// a CVE run after a completed full sync is incremental.
	Full       bool
	StartIndex int
	PageSize   int
	// Startup marks the startup imports: they skip catalogs already stored.
	Startup bool
}

// provider is the runtime of one provider FSM.
type provider struct {
	id, typ string
	want    int // permits asked for
	e       *Engine
	work    job
	log     *slog.Logger

	ctl sync.Mutex // serialises control requests (start, pause, resume, stop)

	mu       sync.Mutex // guards the fields below
	m        *fsm.Machine[fsm.ProviderState]
	rec      bolt.ProviderRecord
	held     int
	lim      *taskflow.Limiter
	done     chan struct{} // closed when the loop exits; nil when no loop ran
	stopLoop context.CancelCauseFunc
	stopWork context.CancelCauseFunc
	wake     chan struct{}
	fetched  int64
	total    int64
	done0    int64 // progress position when this process started the run
	started  time.Time
	backoff  time.Duration
	cpTime   time.Duration // spent queueing checkpoints in this process
}

func newProvider(e *Engine, id, typ string, want int, work job, rec bolt.ProviderRecord) *provider {
	p := &provider{id: id, typ: typ, want: want, e: e, work: work, log: e.log.With("provider", id),
		rec: rec, lim: taskflow.NewLimiter(0), wake: make(chan struct{}, 1)}
	p.rec.ID, p.rec.Type = id, typ
	p.m = p.machine(rec.State)
	return p
}

func (p *provider) machine(initial fsm.ProviderState) *fsm.Machine[fsm.ProviderState] {
	return fsm.NewMachine(fsm.Config[fsm.ProviderState]{ID: p.id, Initial: initial, Logger: p.e.log,
		Now: p.e.cfg.Now, OnTransition: p.onTransition})
}

// onTransition is the Machine's hook: once t is persisted, it makes t the
// state of the record and only then tells the engine (the macro FSM, the
// session that runs the provider). Whoever learns of t from the engine, e.g.
// a session that completed, finds the provider already in t.To.
func (p *provider) onTransition(ctx context.Context, t fsm.Transition[fsm.ProviderState]) {
	p.mu.Lock()
	p.rec.State = t.To
	p.rec.UpdatedAt = t.At
	p.rec.LastError = t.Err
	p.mu.Unlock()
	p.e.onProviderTransition(ctx, t)
}

// state is the current state as of the last applied transition (set before
// the transition's hooks run). It never calls the Machine, so it is safe
// inside transition hooks.
func (p *provider) state() fsm.ProviderState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rec.State
}

func (p *provider) record() bolt.ProviderRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rec
	r.PermitsHeld = p.held
	return r
}

// apply persists and makes the transition to `to`, with the provider record
// as it is now, after flushing queued checkpoints so that the record on disk
// is not older than the one written here. The record takes the new state in
// the Machine's hook (onTransition).
func (p *provider) apply(to fsm.ProviderState, reason string, cause error) error {
	if err := p.e.cw.Flush(); err != nil {
		return err
	}
	p.mu.Lock()
	m := p.m
	rec := p.rec
	rec.PermitsHeld = p.held
	p.mu.Unlock()
	_, err := m.Apply(context.Background(), fsm.Change[fsm.ProviderState]{To: to, Reason: reason, Err: cause,
		URN: rec.LastCheckpoint, Persist: p.e.store.PersistProvider(rec, nil)})
	if err != nil {
		return fmt.Errorf("provider %q: %w", p.id, err)
	}
	return nil
}

// spawn starts the loop goroutine.
func (p *provider) spawn() {
	ctx, cancel := context.WithCancelCause(p.e.ctx)
	done := make(chan struct{})
	p.mu.Lock()
	p.stopLoop, p.done = cancel, done
	p.started = p.e.cfg.Now()
	p.done0 = progressDone(p.rec)
	p.mu.Unlock()
	p.e.wg.Add(1)
	go func() {
		defer p.e.wg.Done()
		defer close(done)
		defer cancel(nil)
		p.loop(ctx)
	}()
}

// running reports whether the loop goroutine is alive.
func (p *provider) running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// settling returns the done channel of a loop whose run has settled (IDLE,
// PAUSED, TERMINATED) but which has not returned yet: it is still in the
// hooks of its last transition, or on its way out. It returns nil otherwise.
func (p *provider) settling() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil || p.rec.State.Active() {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
		return p.done
	}
}

// quiesce waits until no loop of a settled run is still returning. Such a
// loop has nothing left to do but its last transition's hooks (which take
// the sessions' lock: do not hold it here) and its return.
func (p *provider) quiesce() {
	for done := p.settling(); done != nil; done = p.settling() {
		p.log.Debug("waiting for the settled run's loop to return")
		<-done
	}
}

// wait blocks until the loop has exited or ctx ends.
func (p *provider) wait(ctx context.Context) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop walks the provider FSM until the run settles (PAUSED, TERMINATED) or
// ctx is cancelled with a control cause.
func (p *provider) loop(ctx context.Context) {
	for {
		var err error
		switch p.state() {
		case fsm.ProviderAcquiring:
			err = p.acquire(ctx)
		case fsm.ProviderRunning:
			err = p.runWork(ctx)
		case fsm.ProviderWaitingQuota:
			err = p.apply(fsm.ProviderAcquiring, "re-acquiring permits", nil)
		case fsm.ProviderWaitingBackoff:
			err = p.waitBackoff(ctx)
		default:
			return
		}
		if ctx.Err() != nil {
			p.settle(context.Cause(ctx))
			return
		}
		if err != nil {
			p.log.Error("provider loop stopped", "err", err)
			return
		}
	}
}

// settle applies a control request that cancelled the loop.
func (p *provider) settle(cause error) {
	if !p.state().Active() {
		return // the run settled by itself meanwhile
	}
	switch {
	case errors.Is(cause, errPause):
		p.releaseAll()
		if st := p.state(); st == fsm.ProviderWaitingQuota || st == fsm.ProviderWaitingBackoff {
			p.must(p.apply(fsm.ProviderAcquiring, "pausing", nil))
		}
		p.must(p.apply(fsm.ProviderPaused, "paused by user", nil))
	case errors.Is(cause, errStop):
		p.releaseAll()
		p.must(p.apply(fsm.ProviderTerminated, reasonStopped, nil))
	default: // shutdown: the persisted state is what recovery resumes from
		p.log.Info("provider loop ends", "state", p.state(), "cause", cause)
	}
}

func (p *provider) must(err error) {
	if err != nil {
		p.log.Error("transition failed", "err", err)
	}
}

// acquire asks for permits until it holds at least one, then goes RUNNING.
func (p *provider) acquire(ctx context.Context) error {
	for {
		p.mu.Lock()
		ask := p.want - p.held
		p.mu.Unlock()
		if ask > 0 {
			n, enforced, err := p.e.permits.request(ctx, p.id, ask)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				p.log.Warn("permit request failed", "err", err)
			}
			p.mu.Lock()
			if enforced {
				p.held += n
			} else {
				p.held = n
			}
			p.mu.Unlock()
		}
		p.mu.Lock()
		held := p.held
		p.lim.SetLimit(held)
		p.mu.Unlock()
		if held > 0 {
			return p.apply(fsm.ProviderRunning, fmt.Sprintf("%d permits held", held), nil)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-time.After(p.e.cfg.QuotaRetry):
		}
	}
}

// releaseAll gives every held permit back to the broker.
func (p *provider) releaseAll() {
	p.mu.Lock()
	n := p.held
	p.held = 0
	p.lim.SetLimit(0)
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.e.permits.release(ctx, p.id, n)
}

// runWork runs the job and turns its outcome into the next state.
func (p *provider) runWork(ctx context.Context) error {
	wctx, cancel := context.WithCancelCause(ctx)
	p.mu.Lock()
	p.stopWork = cancel
	p.mu.Unlock()
	err := p.work.run(wctx, p)
	cause := context.Cause(wctx)
	cancel(nil)
	p.mu.Lock()
	p.stopWork = nil
	p.mu.Unlock()
	if ferr := p.e.cw.Flush(); ferr != nil {
		return ferr
	}
	if ctx.Err() != nil {
		return nil // the loop settles the control request
	}
	switch {
	case err == nil:
		p.releaseAll()
		return p.apply(fsm.ProviderTerminated, reasonCompleted, nil)
	case errors.Is(cause, errRevoked):
		return p.apply(fsm.ProviderWaitingQuota, "permits revoked", nil)
	case errors.Is(err, rpc.ErrClosed) || errors.Is(err, service.ErrNotConnected):
		// The broker connection is gone: the process is going down. Keep
		// the persisted state so that recovery resumes the run.
		return fmt.Errorf("connection lost, run left for recovery: %w", err)
	case isTransient(err):
		p.releaseAll()
		p.mu.Lock()
		p.backoff = min(max(p.e.cfg.BackoffBase, 2*p.backoff), p.e.cfg.BackoffMax)
		p.rec.BackoffUntil = p.e.cfg.Now().Add(p.backoff)
		d := p.backoff
		p.mu.Unlock()
		p.log.Warn("throttled: backing off", "for", d, "err", err)
		return p.apply(fsm.ProviderWaitingBackoff, "rate limited", err)
	default:
		p.releaseAll()
		p.log.Error("provider failed", "err", err)
		return p.apply(fsm.ProviderTerminated, "failed", err)
	}
}

// waitBackoff waits until the persisted backoff deadline, then re-acquires.
func (p *provider) waitBackoff(ctx context.Context) error {
	p.mu.Lock()
	d := p.rec.BackoffUntil.Sub(p.e.cfg.Now())
	p.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	return p.apply(fsm.ProviderAcquiring, "backoff over", nil)
}

// progressed resets the backoff after a page went through.
func (p *provider) progressed() {
	p.mu.Lock()
	p.backoff = 0
	p.mu.Unlock()
}

// revoke takes n permits away (RPCOnQuotaUpdate); a running provider stops
// its work and goes to WAITING_QUOTA. It returns how many it lost.
func (p *provider) revoke(n int, reason string) int {
	p.mu.Lock()
	n = min(n, p.held)
	p.held -= n
	p.lim.SetLimit(p.held)
	stop := p.stopWork
	p.mu.Unlock()
	if n <= 0 {
		return 0
	}
	p.e.permits.record(p.id, bolt.PermitRevoked, n, reason)
	p.log.Info("permits revoked", "count", n, "reason", reason)
	if stop != nil {
		stop(errRevoked)
	}
	return n
}

// nudge wakes a provider waiting for permits (quota restored).
func (p *provider) nudge() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// conflict is the error of a control request the state does not allow.
func conflict(format string, args ...any) error {
	return rpc.Errorf(rpc.CodeConflict, format, args...)
}

// start begins a new run (from IDLE or after TERMINATED).
func (p *provider) start(o StartOptions) error {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	// A run that has just settled may still be returning: its end is
	// already visible (state, session), so wait for it rather than refuse.
	p.quiesce()
	st := p.state()
	if st != fsm.ProviderIdle && st != fsm.ProviderTerminated {
		return conflict("provider %q is already %s", p.id, st)
	}
	if p.running() {
		return conflict("provider %q is still settling", p.id)
	}
	p.mu.Lock()
	prev := p.rec
	p.mu.Unlock()
	cursor, err := p.work.begin(prev, o)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.rec = bolt.ProviderRecord{ID: p.id, Type: p.typ, State: fsm.ProviderIdle, Cursor: cursor}
	p.m = p.machine(fsm.ProviderIdle)
	p.fetched, p.total, p.backoff = 0, 0, 0
	p.mu.Unlock()
	if err := p.apply(fsm.ProviderAcquiring, "started", nil); err != nil {
		return err
	}
	p.spawn()
	return nil
}

// pause stops a running provider at its next safe point; it ends PAUSED.
func (p *provider) pause() error {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	st := p.state()
	if !st.Active() || !p.running() {
		return conflict("provider %q is not running (state %s)", p.id, st)
	}
	p.mu.Lock()
	stop := p.stopLoop
	p.mu.Unlock()
	stop(errPause)
	return p.wait(context.Background())
}

// resume continues a paused provider from its cursor.
func (p *provider) resume() error {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	if st := p.state(); st != fsm.ProviderPaused {
		return conflict("provider %q is not paused (state %s)", p.id, st)
	}
	if err := p.apply(fsm.ProviderAcquiring, "resumed by user", nil); err != nil {
		return err
	}
	p.spawn()
	return nil
}

// stop ends the run: TERMINATED, permits released.
func (p *provider) stop() error {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	st := p.state()
	switch {
	case p.running():
		p.mu.Lock()
		stop := p.stopLoop
		p.mu.Unlock()
		stop(errStop)
		return p.wait(context.Background())
	case st == fsm.ProviderPaused:
		return p.apply(fsm.ProviderTerminated, reasonStopped, nil)
	}
	return conflict("provider %q is not running (state %s)", p.id, st)
}

// shutdown cancels the loop without a transition and waits for it.
func (p *provider) shutdown() {
	p.mu.Lock()
	stop := p.stopLoop
	p.mu.Unlock()
	if stop != nil {
		stop(errShutdown)
	}
	_ = p.wait(context.Background())
}

// recover brings the provider back after a restart (contract §7).
func (p *provider) recover() error {
	st := p.state()
	r := fsm.RecoverProvider(st)
	for _, s := range r.Steps {
		if err := p.apply(s, "recovery after restart", nil); err != nil {
			return err
		}
	}
	switch r.Action {
	case fsm.Resume, fsm.Reacquire, fsm.KeepWaiting:
		p.mu.Lock()
		p.held = 0 // permits died with the old process
		p.mu.Unlock()
		p.log.Info("recovering provider", "state", st, "action", r.Action, "last_checkpoint", p.record().LastCheckpoint)
		p.spawn()
	}
	return nil
}

// checkpoint queues a checkpoint of u with the record as it is now.
func (p *provider) checkpoint(u urn.URN, success bool, msg string) error {
	start := time.Now()
	p.mu.Lock()
	rec := p.rec
	p.rec.LastCheckpoint = u
	p.mu.Unlock()
	err := p.e.cw.Add(&rec, bolt.Checkpoint{URN: u, ProviderID: p.id, Success: success, ErrorMessage: msg})
	p.mu.Lock()
	p.cpTime += time.Since(start)
	p.mu.Unlock()
	return err
}

// checkpointTime is the time the ingest path spent queueing checkpoints.
func (p *provider) checkpointTime() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cpTime
}

// Progress is a run's advance: done of total, rate per second since this
// process started the run, and the estimated seconds left.
type Progress struct {
	Done          int64   `json:"done"`
	Total         int64   `json:"total"`
	RatePerSecond float64 `json:"rate_per_second"`
	ETASeconds    float64 `json:"eta_seconds"`
	Percent       float64 `json:"percent"`
}

func (p *provider) progress() Progress {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr := Progress{Done: progressDone(p.rec), Total: max(p.total, progressTotal(p.rec))}
	if el := p.e.cfg.Now().Sub(p.started).Seconds(); el > 0 && !p.started.IsZero() {
		pr.RatePerSecond = float64(pr.Done-p.done0) / el
	}
	if pr.RatePerSecond > 0 && pr.Total > pr.Done {
		pr.ETASeconds = float64(pr.Total-pr.Done) / pr.RatePerSecond
	}
	if pr.Total > 0 {
		pr.Percent = 100 * float64(min(pr.Done, pr.Total)) / float64(pr.Total)
	}
	return pr
}
