package rpc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// DefaultMaxMessageSize is the contract's default maximum line length.
const DefaultMaxMessageSize = 16 << 20

// Reader reads newline-framed messages. It is not safe for concurrent use.
type Reader struct {
	br   *bufio.Reader
	max  int
	long []byte
}

// NewReader returns a Reader with the given maximum message size in bytes
// (DefaultMaxMessageSize when max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// ReadLine returns the next non-empty line without its newline. The slice is
// valid until the next call. A line longer than the maximum is consumed and
// skipped, and ReadLine returns an error wrapping ErrTooLarge; the next call
// reads the line after it. At the end of the stream it returns io.EOF (a last
// line without a newline is returned first).
func (r *Reader) ReadLine() ([]byte, error) {
	for {
		line, err := r.readRaw()
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return trimCR(line), nil
			}
			return nil, err
		}
		if line = trimCR(line); len(line) > 0 {
			return line, nil
		}
	}
}

func (r *Reader) readRaw() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == nil || errors.Is(err, io.EOF) {
		if len(line) > r.max+1 || (err != nil && len(line) > r.max) {
			return nil, r.discard(len(line), err)
		}
		if err == nil {
			return line[:len(line)-1], nil
		}
		return line, err
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	r.long = append(r.long[:0], line...)
	for {
		line, err = r.br.ReadSlice('\n')
		if len(r.long)+len(line) > r.max+1 {
			return nil, r.discard(len(r.long)+len(line), err)
		}
		r.long = append(r.long, line...)
		switch {
		case err == nil:
			return r.long[:len(r.long)-1], nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return r.long, err
		}
	}
}

// discard skips the rest of an oversize line.
func (r *Reader) discard(seen int, err error) error {
	if cap(r.long) > 1<<20 {
		r.long = nil // do not keep a huge buffer for one bad line
	}
	for errors.Is(err, bufio.ErrBufferFull) {
		var line []byte
		line, err = r.br.ReadSlice('\n')
		seen += len(line)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	tooLarge := fmt.Errorf("%w: line of at least %d bytes exceeds the maximum of %d", ErrTooLarge, seen, r.max)
	if err != nil {
		return errors.Join(tooLarge, err)
	}
	return tooLarge
}

// Buffered is the number of bytes read from the stream but not yet returned.
func (r *Reader) Buffered() int { return r.br.Buffered() }

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// bufPool recycles encoding buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// GetBuffer returns an empty pooled byte buffer; PutBuffer recycles it.
func GetBuffer() *[]byte { return bufPool.Get().(*[]byte) }

// PutBuffer returns b to the pool. Buffers over 1 MiB are dropped so the pool
// does not pin large payloads.
func PutBuffer(b *[]byte) {
	if cap(*b) > 1<<20 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// Writer writes messages, one per line. It is safe for concurrent use and
// coalesces: while one caller is writing to the underlying stream, lines that
// others add are gathered and written together by that caller in one call, so
// many concurrent senders cost few system calls. A line is written whole or
// not at all. When the gathered lines exceed maxPending bytes, callers wait
// for the stream, so memory stays bounded if the reader is slow.
type Writer struct {
	w io.Writer

	mu       sync.Mutex
	cond     *sync.Cond
	buf      []byte
	spare    []byte
	flushing bool
	err      error
}

const maxPending = 4 << 20

// maxKept is the largest buffer a Writer keeps for its next write.
const maxKept = maxPending * 2

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	wr := &Writer{w: w}
	wr.cond = sync.NewCond(&wr.mu)
	return wr
}

// Write encodes m and writes it as one line. It encodes straight into the
// buffer the next write(2) sends (kept from one write to the next), not into
// a buffer of its own that is then copied: for a page of a few thousand CVE
// records that is one copy of megabytes, into memory already mapped, instead
// of two, one of them into a buffer grown from scratch.
func (w *Writer) Write(m *Message) error { return w.Forward(m, nil, false) }

// WriteLine writes an already encoded line, which must end in a newline. A
// nil error means the line was written, or handed to the caller that is
// writing; a write error is returned to that caller and to every later one.
//
// The caller that finds the stream idle yields once before writing, so that
// goroutines ready to send (the handlers of a burst of requests, the callers
// of a pipelined client) add their lines to this write rather than each
// paying for its own system call; when nobody else is ready, the yield
// returns at once.
func (w *Writer) WriteLine(line []byte) error {
	w.mu.Lock()
	if err := w.appendLocked(line); err != nil {
		w.mu.Unlock()
		return err
	}
	return w.sendLocked()
}

// sendLocked writes what is buffered unless another caller is writing (it
// will take the new lines along), and unlocks.
func (w *Writer) sendLocked() error {
	if w.flushing {
		w.mu.Unlock()
		return nil
	}
	w.flushing = true
	w.mu.Unlock()
	runtime.Gosched()
	w.mu.Lock()
	return w.flushLocked()
}

// Forward adds one message, raw (its encoding as it arrived, without the
// newline) when not nil or else m encoded, straight into the buffer the
// next write(2) sends: a router passes a line on with one copy and no
// buffer of its own. With buffered it waits for Flush as Buffer does;
// otherwise it is written as WriteLine writes.
func (w *Writer) Forward(m *Message, raw []byte, buffered bool) error {
	w.mu.Lock()
	if err := w.waitLocked(); err != nil {
		w.mu.Unlock()
		return err
	}
	if raw != nil {
		w.reserve(len(raw) + 1)
		w.buf = append(append(w.buf, raw...), '\n')
	} else {
		w.reserve(encodedSize(m))
		w.buf = Append(w.buf, m)
	}
	if buffered {
		return w.bufferedLocked()
	}
	return w.sendLocked()
}

// encodedSize is about the length of m's encoding, for reserve.
func encodedSize(m *Message) int {
	return len(m.Payload) + len(m.ID) + len(m.Error) + len(m.Code) + len(m.Source) + len(m.Target) + len(m.CorrelationID) + 128
}

// Buffer adds a line without writing it yet, unless 64 KiB are waiting;
// Flush writes what is buffered. A reader that routes a burst of lines
// buffers each and flushes once when its input has no more, so a burst costs
// one system call per destination.
func (w *Writer) Buffer(line []byte) error {
	w.mu.Lock()
	if err := w.appendLocked(line); err != nil {
		w.mu.Unlock()
		return err
	}
	return w.bufferedLocked()
}

// bufferedLocked writes what is buffered once 64 KiB wait and nobody is
// writing, and unlocks.
func (w *Writer) bufferedLocked() error {
	if w.flushing || len(w.buf) < 64<<10 {
		w.mu.Unlock()
		return nil
	}
	return w.flushLocked()
}

// Flush writes whatever Buffer left waiting.
func (w *Writer) Flush() error {
	w.mu.Lock()
	if w.flushing || len(w.buf) == 0 || w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	return w.flushLocked()
}

// Saturation is how full the writer is: bytes waiting against the bound at
// which writers start to wait (1 means callers are being held back).
func (w *Writer) Saturation() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return min(1, float64(len(w.buf))/maxPending)
}

func (w *Writer) appendLocked(line []byte) error {
	if err := w.waitLocked(); err != nil {
		return err
	}
	w.reserve(len(line))
	w.buf = append(w.buf, line...)
	return nil
}

// reserve makes room for n more bytes. A buffer that has to grow gets a
// quarter more than it needs, so that the next message of about the same
// size (the pages of a CVE sync differ by a few per cent) fits in it rather
// than in a new one: a new buffer of megabytes is memory the process has
// not touched yet, and on a virtual machine every page of it costs a fault
// (docs/architecture.md, "Pages of CVEs on the wire").
func (w *Writer) reserve(n int) {
	if cap(w.buf)-len(w.buf) >= n {
		return
	}
	size := len(w.buf) + n
	nb := make([]byte, len(w.buf), size+size/4)
	copy(nb, w.buf)
	w.buf = nb
}

// waitLocked waits while more than maxPending bytes wait for a write in
// progress, and returns the stream's error, if any.
func (w *Writer) waitLocked() error {
	for w.err == nil && w.flushing && len(w.buf) > maxPending {
		w.cond.Wait()
	}
	return w.err
}

// flushLocked writes the buffer until it is empty, releasing the lock during
// each write so that others can add lines, and unlocks before returning.
func (w *Writer) flushLocked() error {
	w.flushing = true
	for len(w.buf) > 0 && w.err == nil {
		b := w.buf
		w.buf = w.spare[:0]
		w.mu.Unlock()
		_, err := w.w.Write(b)
		w.mu.Lock()
		// w.buf took the spare's array: the spare becomes the array just
		// written, or nothing (never the array w.buf now uses, which the
		// next round would hand out while still being written).
		if cap(b) <= maxKept {
			w.spare = b[:0]
		} else {
			w.spare = nil
		}
		if err != nil {
			w.err = err
		}
		w.cond.Broadcast()
	}
	w.flushing = false
	w.cond.Broadcast()
	err := w.err
	w.mu.Unlock()
	return err
}
