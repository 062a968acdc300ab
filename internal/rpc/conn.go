package rpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is one end of a message stream: it sends requests and matches the
// answers to them by correlation id, and hands every other incoming message
// to the function given to Serve. Call and Send are safe for concurrent use.
type Conn struct {
	self   string
	prefix string
	r      *Reader
	w      *Writer
	seq    atomic.Uint64

	mu       sync.Mutex
	pending  map[string]*call
	closed   error
	sweeping bool // a goroutine is expiring timed calls

	lend lender
}

// lender keeps the buffers that large payloads are copied into when their
// reader has promised to give them back (requests for the methods named in
// LendPayloads, answers to CallLent), and takes them back from Release. A
// payload of megabytes copied into new memory touches pages the process
// has not used yet, and on a virtual machine each costs a fault worth far
// more than the copy (docs/architecture.md, "Pages of CVEs on the wire"); a
// buffer that comes back is already mapped.
type lender struct {
	mu      sync.Mutex
	methods map[string]bool
	free    [][]byte
}

// lendMin is the smallest payload worth a lent buffer, lendKeep how many
// buffers the Conn keeps for reuse (a sync has a few pages in flight).
const (
	lendMin  = 64 << 10
	lendKeep = 4
)

// LendPayloads makes the payloads of large requests for methods arrive in
// buffers that Release takes back for the next one. Only for methods whose
// handler keeps nothing of its params once it has answered. Call it before
// Serve or Next.
func (c *Conn) LendPayloads(methods ...string) {
	c.lend.mu.Lock()
	defer c.lend.mu.Unlock()
	if c.lend.methods == nil {
		c.lend.methods = make(map[string]bool)
	}
	for _, m := range methods {
		c.lend.methods[m] = true
	}
}

func (l *lender) lends(method string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.methods[method]
}

// ownPayload gives m a payload of its own (Decode left it pointing into the
// reader's buffer): a lent buffer when lend is set and the payload is
// large, else a new copy.
func (c *Conn) ownPayload(m *Message, lend bool) {
	p := m.Payload
	if p == nil {
		return
	}
	if !lend || len(p) < lendMin {
		m.Payload = append(json.RawMessage(nil), p...)
		return
	}
	l := &c.lend
	var buf []byte
	l.mu.Lock()
	for i, b := range l.free {
		if cap(b) >= len(p) {
			buf = b
			l.free = append(l.free[:i], l.free[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	if buf == nil {
		// A quarter more than needed: the next page of about the same size
		// fits in it.
		buf = make([]byte, 0, len(p)+len(p)/4)
	}
	m.lent = append(buf[:0], p...)
	m.Payload = m.lent
}

// Release takes back the buffer a lent payload was copied into: m.Payload
// must no longer be used by anyone. Messages without one are left as they are.
func (c *Conn) Release(m *Message) {
	if m.lent == nil {
		return
	}
	buf := m.lent
	m.lent, m.Payload = nil, nil
	l := &c.lend
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.free) < lendKeep {
		l.free = append(l.free, buf[:0])
		return
	}
	// Keep the largest buffers.
	for i, b := range l.free {
		if cap(b) < cap(buf) {
			l.free[i] = buf[:0]
			return
		}
	}
}

// call is one request waiting for its answer. deadline (monotonic
// nanoseconds, 0 for none) is enforced by the sweeper: one goroutine per
// Conn, rather than a timer per call, on the path every request takes.
type call struct {
	ch       chan *Message
	deadline int64
	lend     bool // a large answer arrives in a lent buffer (CallLent)
}

// expired is sent to a call whose deadline passed.
var expired = new(Message)

// sweepEvery is how often timed calls are checked: a call fails at most this
// long after its deadline.
const sweepEvery = 50 * time.Millisecond

// NewConn returns a Conn for the process self reading from r and writing to w.
func NewConn(self string, r io.Reader, w io.Writer, maxMessageSize int) *Conn {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return &Conn{
		self:    self,
		prefix:  self + "-" + hex.EncodeToString(rnd[:]) + "-",
		r:       NewReader(r, maxMessageSize),
		w:       NewWriter(w),
		pending: make(map[string]*call),
	}
}

// Self is the process id this end speaks as.
func (c *Conn) Self() string { return c.self }

// Serve reads messages until the stream ends. Responses and errors that
// answer a pending Call complete it; every other valid message is passed to
// handle, which must not block for long. Lines that cannot be decoded are
// reported to bad (which may be nil) and skipped. Serve returns nil at end of
// stream, after failing every pending call with ErrClosed.
func (c *Conn) Serve(handle func(*Message), bad func(line []byte, err error)) error {
	for {
		m, err := c.Next(bad)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		handle(m)
		c.yieldIfDrained()
	}
}

// yieldIfDrained lets the goroutine just handed a message (a worker, a
// waiting caller) run before this one reads again when nothing is buffered:
// that read finds the pipe empty, and the answer need not wait for it.
func (c *Conn) yieldIfDrained() {
	if c.r.Buffered() == 0 {
		runtime.Gosched()
	}
}

// Next reads until a message that is not the answer to a pending Call
// arrives and returns it; answers complete their calls on the way. Lines
// that cannot be decoded are reported to bad (which may be nil) and skipped.
// At the end of the stream it fails every pending call with ErrClosed and
// returns io.EOF. Next must not be called concurrently with itself or Serve:
// one goroutine reads at a time, though it may hand the reading over to
// another (see internal/service).
func (c *Conn) Next(bad func(line []byte, err error)) (*Message, error) {
	for {
		line, err := c.r.ReadLine()
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				if bad != nil {
					bad(nil, err)
				}
				continue
			}
			c.shutdown(ErrClosed)
			return nil, err
		}
		m := new(Message)
		if err := Decode(line, m); err != nil {
			if bad != nil {
				bad(append([]byte(nil), line...), err)
			}
			continue
		}
		// Only the payload points into line: it gets memory of its own.
		if m.Type == TypeResponse || m.Type == TypeError {
			if cl := c.take(m.CorrelationID); cl != nil {
				c.ownPayload(m, cl.lend)
				cl.ch <- m
				c.yieldIfDrained()
				continue
			}
		}
		c.ownPayload(m, m.Type == TypeRequest && c.lend.lends(m.ID))
		return m, nil
	}
}

// take removes and returns the pending call id answers, if any.
func (c *Conn) take(id string) *call {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.pending[id]
	if !ok {
		return nil
	}
	delete(c.pending, id)
	return cl
}

func (c *Conn) shutdown(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed != nil {
		return
	}
	c.closed = err
	for id, cl := range c.pending {
		delete(c.pending, id)
		close(cl.ch)
	}
}

// Send writes m, filling in its source.
func (c *Conn) Send(m *Message) error {
	m.Source = c.self
	if err := c.w.Write(m); err != nil {
		return fmt.Errorf("rpc: send %s %s: %w", m.Type, m.ID, err)
	}
	return nil
}

// Call sends a request for method to target and waits for its answer until
// ctx is done. An error message comes back as an *Error; a cancelled or
// expired ctx gives an error wrapping ErrTimeout or ctx.Err().
func (c *Conn) Call(ctx context.Context, target, method string, params any) (json.RawMessage, error) {
	return c.CallTimeout(ctx, 0, target, method, params)
}

// CallTimeout is Call that also gives up after timeout (none when 0) with an
// *Error of code timeout wrapping ErrTimeout, as an expired ctx does; it
// costs no timer per call.
func (c *Conn) CallTimeout(ctx context.Context, timeout time.Duration, target, method string, params any) (json.RawMessage, error) {
	m, err := c.call(ctx, timeout, target, method, params, false)
	if err != nil {
		return nil, err
	}
	return m.Payload, nil
}

// CallLent is CallTimeout for a caller that gives the answer back: a large
// one arrives in a buffer the Conn reuses once release is called, after
// which the payload must not be used. release is never nil.
func (c *Conn) CallLent(ctx context.Context, timeout time.Duration, target, method string, params any) (payload json.RawMessage, release func(), err error) {
	m, err := c.call(ctx, timeout, target, method, params, true)
	if err != nil {
		return nil, func() {}, err
	}
	return m.Payload, func() { c.Release(m) }, nil
}

func (c *Conn) call(ctx context.Context, timeout time.Duration, target, method string, params any, lend bool) (*Message, error) {
	id := c.prefix + strconv.FormatUint(c.seq.Add(1), 36)
	req, err := NewRequest(method, target, id, params)
	if err != nil {
		return nil, err
	}
	cl := &call{ch: make(chan *Message, 1), lend: lend}
	if timeout > 0 {
		cl.deadline = nanotime() + int64(timeout)
	}
	c.mu.Lock()
	if c.closed != nil {
		c.mu.Unlock()
		return nil, c.closed
	}
	c.pending[id] = cl
	if cl.deadline != 0 && !c.sweeping {
		c.sweeping = true
		go c.sweep()
	}
	c.mu.Unlock()
	if err := c.Send(req); err != nil {
		c.forget(id)
		return nil, err
	}
	timedOut := func() error {
		return &Error{Code: CodeTimeout, Message: fmt.Sprintf("%s on %s: %v", method, target, ErrTimeout)}
	}
	select {
	case m, ok := <-cl.ch:
		switch {
		case !ok:
			return nil, fmt.Errorf("%s on %s: %w", method, target, ErrClosed)
		case m == expired:
			return nil, timedOut()
		case m.Type == TypeError:
			return nil, FromMessage(m)
		}
		return m, nil
	case <-ctx.Done():
		c.forget(id)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, timedOut()
		}
		return nil, fmt.Errorf("%s on %s: %w", method, target, ctx.Err())
	}
}

// sweep fails the calls whose deadline has passed, every sweepEvery, until
// no timed call is left.
func (c *Conn) sweep() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for range t.C {
		now := nanotime()
		timed := false
		c.mu.Lock()
		for id, cl := range c.pending {
			switch {
			case cl.deadline == 0:
			case now >= cl.deadline:
				delete(c.pending, id)
				cl.ch <- expired
			default:
				timed = true
			}
		}
		if !timed {
			c.sweeping = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// nanotime is a monotonic clock reading in nanoseconds.
func nanotime() int64 { return int64(time.Since(clockBase)) }

var clockBase = time.Now()

func (c *Conn) forget(id string) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// Pending returns the number of calls waiting for an answer.
func (c *Conn) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}
