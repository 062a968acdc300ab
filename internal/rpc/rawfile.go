package rpc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// RawFile reads and writes a non-blocking pipe on the message hot path.
//
// An ordinary (*os.File).Read or Write is a system call wrapped in the Go
// scheduler's bookkeeping: entering it wakes the runtime's monitor thread
// whenever the process was idle, and that thread then polls every 20 µs for
// the next millisecond. A process answering one message at a time is idle
// between messages, so each message paid for an extra thread wake-up and a
// burst of monitor wake-ups, on the two cores the whole chain shares.
// RawFile issues read(2) and write(2) directly (they never block: the
// descriptor is non-blocking) and waits for readiness through the runtime
// poller, as os.File does, so deadlines and Close keep working.
type RawFile struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool
}

// ErrNotPollable is returned by NewRawFile for a descriptor the runtime
// poller cannot wait on (a regular file, or a pipe opened in blocking mode).
var ErrNotPollable = errors.New("rpc: descriptor is not a non-blocking pipe")

// NewRawFile wraps f, which must be a non-blocking descriptor registered
// with the runtime poller (os.Pipe's ends, or os.NewFile on a descriptor set
// non-blocking first).
func NewRawFile(f *os.File) (*RawFile, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotPollable, f.Name(), err)
	}
	var flags uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		flags, _, errno = syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	}); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotPollable, f.Name(), err)
	}
	if errno != 0 {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotPollable, f.Name(), errno)
	}
	if flags&syscall.O_NONBLOCK == 0 {
		return nil, fmt.Errorf("%w: %s is in blocking mode", ErrNotPollable, f.Name())
	}
	return &RawFile{f: f, rc: rc}, nil
}

// Read reads up to len(p) bytes, waiting until some are available. At the
// end of the stream it returns io.EOF.
func (r *RawFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			var m uintptr
			m, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch errno {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			case 0:
				n = int(m)
			}
			return true
		}
	})
	switch {
	case err != nil:
		return 0, r.wrap("read", err)
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: r.f.Name(), Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, waiting while the pipe is full.
func (r *RawFile) Write(p []byte) (int, error) {
	var n int
	var errno syscall.Errno
	err := r.rc.Write(func(fd uintptr) bool {
		var m int
		m, errno = writeSome(fd, p[n:])
		n += m
		return errno != syscall.EAGAIN
	})
	switch {
	case err != nil:
		return n, r.wrap("write", err)
	case errno != 0:
		return n, &os.PathError{Op: "write", Path: r.f.Name(), Err: errno}
	}
	return n, nil
}

// WriteTimeout writes all of p, waiting at most timeout (none when 0) for a
// full pipe to drain; it then fails with an error wrapping
// os.ErrDeadlineExceeded. When the pipe has room, as it nearly always has,
// it reads no clock and arms no deadline.
func (r *RawFile) WriteTimeout(p []byte, timeout time.Duration) (int, error) {
	var n int
	var errno syscall.Errno
	if err := r.rc.Control(func(fd uintptr) { n, errno = writeSome(fd, p) }); err != nil {
		return n, r.wrap("write", err)
	}
	switch errno {
	case 0:
		return n, nil
	case syscall.EAGAIN:
	default:
		return n, &os.PathError{Op: "write", Path: r.f.Name(), Err: errno}
	}
	if timeout > 0 {
		_ = r.f.SetWriteDeadline(time.Now().Add(timeout))
		defer r.f.SetWriteDeadline(time.Time{})
	}
	m, err := r.Write(p[n:])
	return n + m, err
}

// writeSome writes p to fd until it is all written (errno 0), the pipe is
// full (EAGAIN) or the write fails.
func writeSome(fd uintptr, p []byte) (int, syscall.Errno) {
	n := 0
	for n < len(p) {
		m, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
		switch e {
		case 0:
			n += int(m)
		case syscall.EINTR:
		default:
			return n, e
		}
	}
	return n, 0
}

// SetWriteDeadline bounds the Writes that follow (see os.File).
func (r *RawFile) SetWriteDeadline(t time.Time) error { return r.f.SetWriteDeadline(t) }

// Close closes the file; a Read or Write waiting on it returns an error
// wrapping os.ErrClosed.
func (r *RawFile) Close() error {
	r.closed.Store(true)
	return r.f.Close()
}

// wrap names the operation and file, and reports a file closed under a
// waiting Read or Write as os.ErrClosed, as os.File does.
func (r *RawFile) wrap(op string, err error) error {
	if r.closed.Load() && !errors.Is(err, os.ErrDeadlineExceeded) {
		err = os.ErrClosed
	}
	return &os.PathError{Op: op, Path: r.f.Name(), Err: err}
}
