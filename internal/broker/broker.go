package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

// HandlerFunc answers a request addressed to the broker itself. from is the
// requesting process id.
type HandlerFunc func(ctx context.Context, from string, params json.RawMessage) (any, error)

// Broker spawns, supervises and routes between the processes of a config.
type Broker struct {
	cfg      config.Config
	log      *slog.Logger
	childLog *slog.Logger
	procs    map[string]*proc
	order    []*proc

	handlers map[string]HandlerFunc
	methods  map[string]service.Method

	pendMu  sync.Mutex
	pending map[pendKey]*pending

	dropped   atomic.Int64 // answers nobody was waiting for
	refused   atomic.Int64 // messages refused (bad source, undecodable)
	undecoded atomic.Int64

	m *master

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   map[string]chan struct{}
}

type pendKey struct{ target, correlation string }

type pending struct {
	from   *proc
	target string
	method string
	start  time.Time
}

// New returns a broker for cfg. log receives the broker's own records;
// childLog the lines the children print (both may be the same logger).
// It panics only on a config that config.Validate would refuse.
func New(cfg config.Config, log, childLog *slog.Logger) *Broker {
	b := &Broker{
		cfg: cfg, log: log, childLog: childLog,
		procs:    make(map[string]*proc),
		handlers: make(map[string]HandlerFunc),
		methods:  make(map[string]service.Method),
		pending:  make(map[pendKey]*pending),
		done:     make(map[string]chan struct{}),
	}
	for _, pc := range cfg.Broker.Processes {
		p := &proc{b: b, cfg: pc, log: log.With("process", pc.ID), status: StatusStopped}
		b.procs[pc.ID] = p
		b.order = append(b.order, p)
	}
	m, err := newMaster(b)
	if err != nil {
		panic(err) // config.Validate refuses what newMaster refuses
	}
	b.m = m
	for _, p := range b.order {
		m.addDestination(p)
	}
	b.registerBuiltins()
	b.registerMaster()
	return b
}

// Handle registers a broker method. It must be called before Start.
func (b *Broker) Handle(method string, h HandlerFunc) { b.Register(service.Method{Name: method}, h) }

// Register registers h under m.Name and lists m in the broker's part of the
// method catalogue (RPCListMethods). It must be called before Start.
func (b *Broker) Register(m service.Method, h HandlerFunc) {
	b.handlers[m.Name] = h
	b.methods[m.Name] = m
}

// Start spawns every configured process. It returns at once; processes
// become ready in the background.
func (b *Broker) Start(ctx context.Context) {
	b.ctx, b.cancel = context.WithCancel(ctx)
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		b.govern(b.ctx)
	}()
	go func() {
		defer b.wg.Done()
		b.expire(b.ctx)
	}()
	for _, p := range b.order {
		done := make(chan struct{})
		b.done[p.cfg.ID] = done
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer close(done)
			p.supervise(b.ctx)
		}()
	}
}

// WaitReady waits until every RPC process has sent subprocess_ready (or is
// not RPC and started), or ctx is done.
func (b *Broker) WaitReady(ctx context.Context) error {
	for {
		var notReady []string
		for _, p := range b.order {
			if !p.isReady() {
				notReady = append(notReady, p.cfg.ID)
			}
		}
		if len(notReady) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker: processes not ready: %v: %w", notReady, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop stops the processes in order, access first, then the others in the
// reverse of their start order, each within the stop deadline, and waits for
// the supervisors to end.
func (b *Broker) Stop() {
	if b.cancel == nil {
		return
	}
	deadline := seconds(b.cfg.Broker.StopTimeoutSeconds)
	var order []*proc
	if p, ok := b.procs["access"]; ok {
		order = append(order, p)
	}
	for i := len(b.order) - 1; i >= 0; i-- {
		if b.order[i].cfg.ID != "access" {
			order = append(order, b.order[i])
		}
	}
	for _, p := range order {
		p.stop(deadline, b.done[p.cfg.ID])
	}
	b.cancel()
	b.wg.Wait()
	if b.m.group != nil {
		b.m.group.Close()
	}
	b.log.Info("all processes stopped")
}

// Attach connects an in-process peer as process id: the broker reads the
// peer's messages from r and writes to w, exactly as for a child. It is for
// tests and tools; the peer must send subprocess_ready like any service.
// Attach must be called before Start.
// detach closes w and forgets the peer's pending requests.
func (b *Broker) Attach(id string, r io.Reader, w io.WriteCloser) (detach func()) {
	p := &proc{b: b, cfg: config.Process{ID: id, RPC: true}, log: b.log.With("process", id), status: StatusStarting, pid: -1}
	out := newOutbox(w, seconds(b.cfg.Broker.RequestTimeoutSeconds))
	p.out = out
	b.procs[id] = p
	b.m.addDestination(p)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		b.readLoop(p, out, r)
	}()
	return func() {
		out.close()
		<-readerDone
		p.afterExit(nil, nil)
	}
}

// readLoop reads one child's output and routes each message.
func (b *Broker) readLoop(p *proc, out *outbox, r io.Reader) {
	rd := rpc.NewReader(r, b.cfg.Broker.MaxMessageSizeBytes)
	var m rpc.Message
	fl := &flusher{}
	defer fl.flush()
	for {
		if rd.Buffered() == 0 {
			fl.flush() // nothing more to route right now: send what this burst produced
		}
		line, err := rd.ReadLine()
		if err != nil {
			if errors.Is(err, rpc.ErrTooLarge) {
				b.refused.Add(1)
				p.log.Warn("message refused", "err", err)
				continue
			}
			if !errors.Is(err, io.EOF) {
				p.log.Warn("read from child failed", "err", err)
			}
			return
		}
		if err := rpc.Decode(line, &m); err != nil {
			b.undecoded.Add(1)
			p.log.Warn("undecodable message from child", "err", err, "line", truncate(line, 200))
			continue
		}
		b.route(fl, p, out, &m, line)
	}
}

// flusher remembers the children a read loop buffered lines for, so that a
// burst of messages costs one write per destination.
type flusher struct{ dirty []*outbox }

func (f *flusher) add(o *outbox) {
	for _, d := range f.dirty {
		if d == o {
			return
		}
	}
	f.dirty = append(f.dirty, o)
}

func (f *flusher) flush() {
	for _, o := range f.dirty {
		_ = o.w.Flush() // a failed write is reported to the next sender
	}
	f.dirty = f.dirty[:0]
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// route handles one decoded message from process p. line is the message as
// it arrived: forwarded as it is unless the broker changes the message
// (filling in a missing source, or the target of an answer), which saves
// encoding it again.
func (b *Broker) route(fl *flusher, p *proc, out *outbox, m *rpc.Message, line []byte) {
	p.stats.received.Add(1)
	b.m.count(m.Type == rpc.TypeError)
	switch m.Type {
	case rpc.TypeRequest:
		p.stats.requests.Add(1)
	case rpc.TypeResponse:
		p.stats.responses.Add(1)
	case rpc.TypeEvent:
		p.stats.events.Add(1)
	case rpc.TypeError:
		p.stats.errs.Add(1)
	}
	if m.Source == "" {
		m.Source = p.cfg.ID
		line = nil
	} else if m.Source != p.cfg.ID {
		b.refused.Add(1)
		p.log.Warn("message refused: source does not match sender", "source", m.Source, "id", m.ID)
		if m.Type == rpc.TypeRequest {
			b.replyError(p, m, rpc.CodeInvalid, fmt.Sprintf("source %q does not match sender %q", m.Source, p.cfg.ID))
		}
		return
	}
	switch m.Type {
	case rpc.TypeRequest:
		b.routeRequest(fl, p, m, line)
	case rpc.TypeResponse, rpc.TypeError:
		b.routeAnswer(fl, p, m, line)
	case rpc.TypeEvent:
		b.routeEvent(fl, p, out, m, line)
	}
}

func (b *Broker) routeRequest(fl *flusher, p *proc, m *rpc.Message, line []byte) {
	if m.CorrelationID == "" {
		b.replyError(p, m, rpc.CodeInvalid, "request "+m.ID+" has no correlation_id")
		return
	}
	if m.Target == "" || m.Target == rpc.BrokerID {
		b.handleOwn(p, m)
		return
	}
	t, ok := b.procs[m.Target]
	if !ok {
		b.replyError(p, m, rpc.CodeUnavailable, fmt.Sprintf("target process %q not found", m.Target))
		return
	}
	if !t.cfg.RPC || !t.isReady() {
		b.replyError(p, m, rpc.CodeUnavailable, fmt.Sprintf("target process %q is not running", m.Target))
		return
	}
	key := pendKey{t.cfg.ID, m.CorrelationID}
	pd := &pending{from: p, target: t.cfg.ID, method: m.ID, start: time.Now()}
	b.pendMu.Lock()
	if _, dup := b.pending[key]; dup {
		b.pendMu.Unlock()
		b.replyError(p, m, rpc.CodeInvalid, fmt.Sprintf("correlation_id %q is already in use for a request to %s", m.CorrelationID, t.cfg.ID))
		return
	}
	b.pending[key] = pd
	b.pendMu.Unlock()
	if err := b.forwardVia(fl, t, m, line); err != nil {
		if b.take(key) != nil {
			b.replyError(p, m, rpc.CodeUnavailable, fmt.Sprintf("target process %q: %v", m.Target, err))
		}
	}
}

// take removes and returns the pending request under key.
func (b *Broker) take(key pendKey) *pending {
	b.pendMu.Lock()
	pd := b.pending[key]
	delete(b.pending, key)
	b.pendMu.Unlock()
	return pd
}

// expire answers the requests that outlived the request timeout with a
// timeout error, checking a few times per timeout (at most every 100ms):
// one goroutine instead of a timer per routed request.
func (b *Broker) expire(ctx context.Context) {
	timeout := seconds(b.cfg.Broker.RequestTimeoutSeconds)
	t := time.NewTicker(min(max(timeout/8, 5*time.Millisecond), 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			b.expireAt(now, timeout)
		}
	}
}

func (b *Broker) expireAt(now time.Time, timeout time.Duration) {
	var late []*pending
	var keys []pendKey
	b.pendMu.Lock()
	for k, pd := range b.pending {
		if now.Sub(pd.start) >= timeout {
			delete(b.pending, k)
			late = append(late, pd)
			keys = append(keys, k)
		}
	}
	b.pendMu.Unlock()
	for i, pd := range late {
		b.replyError(pd.from, &rpc.Message{ID: pd.method, CorrelationID: keys[i].correlation}, rpc.CodeTimeout,
			fmt.Sprintf("request %s to %s timed out after %s", pd.method, pd.target, timeout))
	}
}

func (b *Broker) routeAnswer(fl *flusher, p *proc, m *rpc.Message, line []byte) {
	pd := b.take(pendKey{p.cfg.ID, m.CorrelationID})
	if pd == nil {
		b.dropped.Add(1)
		p.log.Debug("answer nobody waits for", "id", m.ID, "correlation_id", m.CorrelationID)
		return
	}
	b.observe(pd)
	if m.Target != pd.from.cfg.ID {
		m.Target = pd.from.cfg.ID
		line = nil
	}
	if err := b.forwardVia(fl, pd.from, m, line); err != nil {
		p.log.Debug("answer not delivered", "to", pd.from.cfg.ID, "err", err)
	}
}

func (b *Broker) routeEvent(fl *flusher, p *proc, out *outbox, m *rpc.Message, line []byte) {
	if m.Target == "" || m.Target == rpc.BrokerID {
		if m.ID == rpc.EventReady {
			var body struct {
				ID      string `json:"id"`
				Methods any    `json:"methods"`
			}
			_ = json.Unmarshal(m.Payload, &body)
			p.markReady(out, body.Methods)
			return
		}
		p.log.Debug("event for the broker", "event", m.ID)
		return
	}
	t, ok := b.procs[m.Target]
	if !ok || !t.cfg.RPC {
		p.log.Warn("event for unknown process dropped", "event", m.ID, "target", m.Target)
		return
	}
	if err := b.forwardVia(fl, t, m, line); err != nil {
		p.log.Debug("event not delivered", "event", m.ID, "target", m.Target, "err", err)
	}
}

// forward encodes m and writes it to t.
func (b *Broker) forward(t *proc, m *rpc.Message) error { return b.forwardVia(nil, t, m, nil) }

// forwardVia sends m to t: line as it is when not nil (m decoded from it,
// unchanged), else m encoded. With a flusher the line is buffered and
// written when the flusher flushes.
func (b *Broker) forwardVia(fl *flusher, t *proc, m *rpc.Message, line []byte) error {
	return t.send(m, line, fl)
}

// replyError sends an error answering req to p, from the broker.
func (b *Broker) replyError(p *proc, req *rpc.Message, code rpc.Code, text string) {
	m := &rpc.Message{Type: rpc.TypeError, ID: req.ID, CorrelationID: req.CorrelationID, Error: text, Code: string(code),
		Source: rpc.BrokerID, Target: p.cfg.ID}
	if err := b.forward(p, m); err != nil {
		p.log.Debug("error reply not delivered", "err", err)
	}
}

// Send delivers a message from the broker to process id (events such as
// RPCOnQuotaUpdate).
func (b *Broker) Send(id string, m *rpc.Message) error {
	t, ok := b.procs[id]
	if !ok {
		return fmt.Errorf("broker: unknown process %q", id)
	}
	m.Source = rpc.BrokerID
	m.Target = id
	return b.forward(t, m)
}

// handleOwn answers a request addressed to the broker.
func (b *Broker) handleOwn(p *proc, m *rpc.Message) {
	h, ok := b.handlers[m.ID]
	if !ok {
		b.replyError(p, m, rpc.CodeNotFound, rpc.NoHandler(m.ID).Message)
		return
	}
	result, err := h(b.ctx, p.cfg.ID, m.Payload)
	var resp *rpc.Message
	if err != nil {
		resp = rpc.ErrorTo(m, err)
	} else if resp, err = rpc.ResponseTo(m, result); err != nil {
		resp = rpc.ErrorTo(m, err)
	}
	resp.Source, resp.Target = rpc.BrokerID, p.cfg.ID
	if err := b.forward(p, resp); err != nil {
		p.log.Debug("broker answer not delivered", "err", err)
	}
}

// processGone fails every request waiting on p and drops those p made.
func (b *Broker) processGone(p *proc) {
	var failed []*pending
	var keys []pendKey
	b.pendMu.Lock()
	for k, pd := range b.pending {
		if k.target == p.cfg.ID || pd.from == p {
			delete(b.pending, k)
			if k.target == p.cfg.ID && pd.from != p {
				failed = append(failed, pd)
				keys = append(keys, k)
			}
		}
	}
	b.pendMu.Unlock()
	for i, pd := range failed {
		b.replyError(pd.from, &rpc.Message{ID: pd.method, CorrelationID: keys[i].correlation}, rpc.CodeUnavailable,
			fmt.Sprintf("target process %q exited before answering %s", p.cfg.ID, pd.method))
	}
	b.serviceGone(p.cfg.ID)
}

// observe records the latency of an answered request in the kernel metrics.
func (b *Broker) observe(pd *pending) {
	b.m.observe(pd.target, pd.method, time.Since(pd.start))
}
