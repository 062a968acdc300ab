package rpc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

// Writer writes messages, one per line. It is safe for concurrent use; each
// message is written with a single Write call.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write encodes m and writes it as one line.
func (w *Writer) Write(m *Message) error {
	bp := GetBuffer()
	*bp = Append(*bp, m)
	err := w.WriteLine(*bp)
	PutBuffer(bp)
	return err
}

// WriteLine writes an already encoded line, which must end in a newline.
func (w *Writer) WriteLine(line []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.w.Write(line)
	return err
}
