// Package service is the framework every v2e process but the broker runs on.
//
// A Service reads messages from the broker on the file descriptor named by
// RPC_INPUT_FD and writes to the one named by RPC_OUTPUT_FD (contract §2). It
// announces itself with subprocess_ready (carrying its method catalogue),
// dispatches requests to handlers registered by method name with a bound on
// how many run at once, answers unknown methods with the contract's error,
// lets handlers call other services through the broker, delivers events, and
// stops cleanly at end of input or when its context is cancelled (SIGTERM).
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/v2e/v2e/internal/rpc"
)

// Handler answers one request. params is the raw payload (nil when absent).
// A returned *rpc.Error keeps its code on the wire; any other error is sent
// with code "internal".
type Handler func(ctx context.Context, params json.RawMessage) (any, error)

// EventHandler receives one event.
type EventHandler func(ctx context.Context, payload json.RawMessage)

// Method describes a handler for the method catalogue.
type Method struct {
	Name   string `json:"name"`
	Params string `json:"params,omitempty"`
	Result string `json:"result,omitempty"`
	Doc    string `json:"doc,omitempty"`
}

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// MaxConcurrent bounds how many requests are handled at once (default 64).
	MaxConcurrent int
	// CallTimeout bounds a Call whose context has no deadline (default 60s).
	CallTimeout time.Duration
	// MaxMessageSize is the maximum line length (default 16 MiB).
	MaxMessageSize int
	// DrainTimeout bounds how long Run waits for running handlers at shutdown (default 10s).
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

// Service is one process's end of the broker connection.
type Service struct {
	id   string
	opts Options
	log  *slog.Logger

	mu       sync.RWMutex
	handlers map[string]Handler
	methods  map[string]Method
	events   map[string]EventHandler
	lend     []string // methods whose params arrive in recycled buffers
	conn     *rpc.Conn
}

// New returns a Service that speaks as process id.
func New(id string, opts Options) *Service {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 64
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 60 * time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{
		id: id, opts: opts, log: opts.Logger.With("process", id),
		handlers: make(map[string]Handler),
		methods:  make(map[string]Method),
		events:   make(map[string]EventHandler),
	}
}

// ID is the process id the service speaks as.
func (s *Service) ID() string { return s.id }

// Logger is the service's logger, tagged with its process id.
func (s *Service) Logger() *slog.Logger { return s.log }

// Handle registers h for method. Registering a method twice replaces it.
func (s *Service) Handle(method string, h Handler) { s.Register(Method{Name: method}, h) }

// Register registers h under m.Name and lists m in the method catalogue.
func (s *Service) Register(m Method, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[m.Name] = h
	s.methods[m.Name] = m
}

// LendParams marks methods whose handlers keep nothing of their params
// once they have answered: those params, when large, arrive in buffers the
// service reuses for the next request (rpc.Conn.LendPayloads), instead of in
// new memory each time. Call it before Run.
func (s *Service) LendParams(methods ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lend = append(s.lend, methods...)
}

// OnEvent registers fn for events named id.
func (s *Service) OnEvent(id string, fn EventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events[id] = fn
}

// Methods returns the catalogue of registered methods, sorted by name.
func (s *Service) Methods() []Method {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Method, 0, len(s.methods))
	for _, m := range s.methods {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ErrNotConnected is returned by Call before Run has connected the service.
var ErrNotConnected = errors.New("service: not connected to the broker")

// Call sends a request for method to target through the broker and decodes
// the result into result (unless result is nil). Errors from the other side
// are *rpc.Error.
func (s *Service) Call(ctx context.Context, target, method string, params, result any) error {
	raw, err := s.CallRaw(ctx, target, method, params)
	if err != nil || result == nil || len(raw) == 0 {
		return err
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("%s on %s: decode result: %w", method, target, err)
	}
	return nil
}

// CallRaw is Call returning the raw result.
func (s *Service) CallRaw(ctx context.Context, target, method string, params any) (json.RawMessage, error) {
	conn, timeout, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	return conn.CallTimeout(ctx, timeout, target, method, params)
}

// CallLent is CallRaw for a caller that gives the result back: a large
// result arrives in a buffer the service reuses once release is called
// (rpc.Conn.CallLent). release is never nil.
func (s *Service) CallLent(ctx context.Context, target, method string, params any) (json.RawMessage, func(), error) {
	conn, timeout, err := s.caller(ctx)
	if err != nil {
		return nil, func() {}, err
	}
	return conn.CallLent(ctx, timeout, target, method, params)
}

// caller returns the connection a call goes out on and its timeout:
// CallTimeout when ctx has no deadline of its own.
func (s *Service) caller(ctx context.Context) (*rpc.Conn, time.Duration, error) {
	s.mu.RLock()
	conn := s.conn
	s.mu.RUnlock()
	if conn == nil {
		return nil, 0, ErrNotConnected
	}
	var timeout time.Duration
	if _, ok := ctx.Deadline(); !ok {
		timeout = s.opts.CallTimeout
	}
	return conn, timeout, nil
}

// Emit sends an event to target (the broker when target is empty).
func (s *Service) Emit(target, id string, body any) error {
	s.mu.RLock()
	conn := s.conn
	s.mu.RUnlock()
	if conn == nil {
		return ErrNotConnected
	}
	m, err := rpc.NewEvent(id, target, body)
	if err != nil {
		return err
	}
	return conn.Send(m)
}

// Usage is printed by RunFromEnv when the service was not started by the broker.
const Usage = `%s is a v2e service: the broker starts it (./broker config.json) and talks to it over
the file descriptors named by RPC_INPUT_FD and RPC_OUTPUT_FD. It is not meant to be run by hand.
`

// ErrNoFDs is returned by RunFromEnv when RPC_INPUT_FD or RPC_OUTPUT_FD is unusable.
var ErrNoFDs = errors.New("service: not started by the broker (RPC_INPUT_FD/RPC_OUTPUT_FD unset or invalid)")

// RunFromEnv opens the descriptors named by RPC_INPUT_FD and RPC_OUTPUT_FD
// (defaults 3 and 4, but at least one must be set) and runs the service on them.
func (s *Service) RunFromEnv(ctx context.Context) error {
	return runAndClose(ctx, s, nil, s.log)
}

// rawIO reads and writes the broker's pipes with rpc.RawFile (no scheduler
// bookkeeping per system call), or as plain files where it cannot.
func rawIO(in, out *os.File) (io.Reader, io.Writer) {
	var r io.Reader = in
	if raw, err := rpc.NewRawFile(in); err == nil {
		r = raw
	}
	var w io.Writer = out
	if raw, err := rpc.NewRawFile(out); err == nil {
		w = raw
	}
	return r, w
}

func openFDs() (*os.File, *os.File, error) {
	inS, outS := os.Getenv("RPC_INPUT_FD"), os.Getenv("RPC_OUTPUT_FD")
	if inS == "" && outS == "" {
		return nil, nil, ErrNoFDs
	}
	fd := func(s string, def int) (*os.File, error) {
		n := def
		if s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: %q is not a descriptor number", ErrNoFDs, s)
			}
			n = v
		}
		// Non-blocking, so the runtime poller waits for input instead of a
		// thread blocked in read(2): a parked goroutine wakes faster.
		_ = syscall.SetNonblock(n, true)
		f := os.NewFile(uintptr(n), "rpc-fd-"+strconv.Itoa(n))
		if f == nil {
			return nil, fmt.Errorf("%w: descriptor %d", ErrNoFDs, n)
		}
		if _, err := f.Stat(); err != nil {
			return nil, fmt.Errorf("%w: descriptor %d: %w", ErrNoFDs, n, err)
		}
		return f, nil
	}
	in, err := fd(inS, 3)
	if err != nil {
		return nil, nil, err
	}
	out, err := fd(outS, 4)
	if err != nil {
		in.Close()
		return nil, nil, err
	}
	return in, out, nil
}

// Run serves requests read from r, writing to w, until r ends or ctx is
// done. It first sends the ready event. At shutdown it waits (up to
// DrainTimeout) for running handlers to finish and send their answers.
func (s *Service) Run(ctx context.Context, r io.Reader, w io.Writer) error {
	conn := rpc.NewConn(s.id, r, w, s.opts.MaxMessageSize)
	s.mu.Lock()
	conn.LendPayloads(s.lend...)
	s.conn = conn
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready, err := rpc.NewEvent(rpc.EventReady, rpc.BrokerID, map[string]any{"id": s.id, "pid": os.Getpid(), "methods": s.Methods()})
	if err != nil {
		return err
	}
	if err := conn.Send(ready); err != nil {
		return err
	}
	s.log.Info("service ready", "pid", os.Getpid(), "methods", len(s.Methods()))

	d := &dispatcher{s: s, conn: conn, ctx: ctx, slots: make(chan struct{}, s.opts.MaxConcurrent), work: make(chan *rpc.Message)}
	served := make(chan error, 1)
	go func() {
		served <- conn.Serve(d.dispatch, func(line []byte, err error) {
			s.log.Warn("bad message from broker", "err", err)
		})
	}()
	var runErr error
	select {
	case runErr = <-served:
		s.log.Info("input closed; shutting down")
	case <-ctx.Done():
		s.log.Info("stopping", "reason", context.Cause(ctx))
	}
	cancel()
	d.drain(s.opts.DrainTimeout, s.log)
	return runErr
}

// dispatcher hands requests to a pool of worker goroutines, at most
// MaxConcurrent, started as the load needs them and kept for the life of the
// service: a worker keeps the stack its handlers grew, where a goroutine per
// request would grow a fresh one, copy after copy, for every request.
type dispatcher struct {
	s     *Service
	conn  *rpc.Conn
	ctx   context.Context
	slots chan struct{}     // one per worker started
	work  chan *rpc.Message // to an idle worker
	wg    sync.WaitGroup    // requests and events being handled
}

func (d *dispatcher) dispatch(m *rpc.Message) {
	switch m.Type {
	case rpc.TypeRequest:
		if d.ctx.Err() != nil {
			d.reply(rpc.ErrorTo(m, rpc.Errorf(rpc.CodeUnavailable, "%s is shutting down", d.s.id)))
			return
		}
		d.wg.Add(1)
		select {
		case d.work <- m: // an idle worker takes it
			return
		default:
		}
		select {
		case d.work <- m:
		case d.slots <- struct{}{}:
			go d.worker(m)
		case <-d.ctx.Done():
			d.wg.Done()
			d.reply(rpc.ErrorTo(m, rpc.Errorf(rpc.CodeUnavailable, "%s is shutting down", d.s.id)))
		}
	case rpc.TypeEvent:
		d.s.mu.RLock()
		fn := d.s.events[m.ID]
		d.s.mu.RUnlock()
		if fn == nil {
			d.s.log.Debug("event without handler", "event", m.ID, "from", m.Source)
			return
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer d.s.recoverPanic("event " + m.ID)
			fn(d.ctx, m.Payload)
		}()
	default:
		d.s.log.Debug("unmatched message", "type", m.Type, "id", m.ID, "correlation_id", m.CorrelationID)
	}
}

// worker answers m, then every request handed to it, until the service stops.
func (d *dispatcher) worker(m *rpc.Message) {
	for {
		d.reply(d.s.answer(d.ctx, m))
		d.conn.Release(m) // the handler has returned: its params are free
		d.wg.Done()
		select {
		case m = <-d.work:
		case <-d.ctx.Done():
			return
		}
	}
}

func (d *dispatcher) reply(m *rpc.Message) {
	if err := d.conn.Send(m); err != nil {
		d.s.log.Warn("cannot send answer", "method", m.ID, "err", err)
	}
}

func (d *dispatcher) drain(timeout time.Duration, log *slog.Logger) {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		log.Warn("handlers still running at shutdown", "timeout", timeout)
	}
}

func (s *Service) recoverPanic(what string) {
	if r := recover(); r != nil {
		s.log.Error("panic", "in", what, "panic", r, "stack", string(debug.Stack()))
	}
}

// answer runs the handler for req and returns the response or error message.
func (s *Service) answer(ctx context.Context, req *rpc.Message) (resp *rpc.Message) {
	s.mu.RLock()
	h := s.handlers[req.ID]
	s.mu.RUnlock()
	if h == nil {
		return rpc.ErrorTo(req, rpc.NoHandler(req.ID))
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panic", "method", req.ID, "panic", r, "stack", string(debug.Stack()))
			resp = rpc.ErrorTo(req, rpc.Errorf(rpc.CodeInternal, "%s: internal error: %v", req.ID, r))
		}
	}()
	result, err := h(ctx, req.Payload)
	if err != nil {
		s.log.Debug("request failed", "method", req.ID, "from", req.Source, "err", err)
		return rpc.ErrorTo(req, err)
	}
	m, err := rpc.ResponseTo(req, result)
	if err != nil {
		return rpc.ErrorTo(req, rpc.Errorf(rpc.CodeInternal, "%v", err))
	}
	return m
}
