package broker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/rpc"
)

// Process states reported by RPCListProcesses.
const (
	StatusStarting = "starting"
	StatusRunning  = "running"
	StatusExited   = "exited" // died; a restart is pending
	StatusFailed   = "failed" // died and will not be restarted
	StatusStopping = "stopping"
	StatusStopped  = "stopped"
)

// ErrNotRunning is returned when sending to a process that is not running.
var ErrNotRunning = errors.New("broker: process not running")

// proc supervises one child.
type proc struct {
	b   *Broker
	cfg config.Process
	log *slog.Logger

	mu        sync.Mutex
	status    string
	pid       int
	restarts  int
	startedAt time.Time
	out       *outbox
	cmd       *exec.Cmd
	stopping  bool
	methods   any

	stats procStats
}

// procStats counts messages received from and sent to one process.
type procStats struct {
	sent, received                    atomic.Int64
	requests, responses, events, errs atomic.Int64
}

// outbox is the way into one running child's input pipe. Lines are written
// by the goroutine that routes them, through a coalescing writer: when
// several goroutines send to the same child at once, one of them writes
// everything gathered so far in a single system call. A write that the
// child does not drain in time fails instead of blocking its sender forever.
type outbox struct {
	w     *rpc.Writer
	pipe  io.WriteCloser
	done  chan struct{} // closed when the child has exited or is being stopped
	once  sync.Once
	ready chan struct{} // closed at subprocess_ready
	rOnce sync.Once
}

func newOutbox(pipe io.WriteCloser, writeTimeout time.Duration) *outbox {
	var w io.Writer = pipe
	if f, ok := pipe.(*os.File); ok {
		if raw, err := rpc.NewRawFile(f); err == nil {
			w = deadlineWriter{raw, writeTimeout}
		}
	}
	return &outbox{w: rpc.NewWriter(w), pipe: pipe, done: make(chan struct{}), ready: make(chan struct{})}
}

func (o *outbox) close() {
	o.once.Do(func() {
		close(o.done)
		o.pipe.Close()
	})
}

// deadlineWriter bounds each write to a pipe.
type deadlineWriter struct {
	f       *rpc.RawFile
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	n, err := d.f.WriteTimeout(p, d.timeout)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("child is not reading its input (blocked for %s): %w", d.timeout, err)
	}
	return n, err
}

// send writes m to the child, or buffers it in fl: line, m's encoding as
// it arrived (without its newline), when not nil, else m encoded. The line
// is copied once, into the child's writer, whatever its size (a page of
// CVEs is megabytes, and new memory for a copy costs a fault per 4 KiB
// page on a virtual machine).
func (p *proc) send(m *rpc.Message, line []byte, fl *flusher) error {
	p.mu.Lock()
	out := p.out
	p.mu.Unlock()
	if out == nil {
		return fmt.Errorf("%w: %s", ErrNotRunning, p.cfg.ID)
	}
	select {
	case <-out.done:
		return fmt.Errorf("%w: %s", ErrNotRunning, p.cfg.ID)
	default:
	}
	var err error
	if g := p.b.m.group; g != nil {
		// The optimizer: a bounded queue per destination, delivered in order
		// by its own goroutine; a full queue waits, drops or rejects.
		buf := rpc.GetBuffer()
		if line != nil {
			*buf = append(append(*buf, line...), '\n')
		} else {
			*buf = rpc.Append(*buf, m)
		}
		ctx, cancel := context.WithTimeout(context.Background(), seconds(p.b.cfg.Broker.RequestTimeoutSeconds))
		err = g.Offer(ctx, p.cfg.ID, *buf)
		cancel()
		rpc.PutBuffer(buf)
	} else {
		err = out.w.Forward(m, line, fl != nil)
		if fl != nil {
			fl.add(out)
		}
	}
	if err != nil {
		return fmt.Errorf("process %q: %w", p.cfg.ID, err)
	}
	p.stats.sent.Add(1)
	return nil
}

func (p *proc) isReady() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status == StatusRunning
}

// supervise runs the child until ctx is done or it may not restart.
func (p *proc) supervise(ctx context.Context) {
	failures := 0
	for {
		started := time.Now()
		err := p.runOnce(ctx)
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if stopping || ctx.Err() != nil {
			p.setStatus(StatusStopped)
			return
		}
		p.log.Warn("process exited", "err", err, "ran", time.Since(started).Round(time.Millisecond))
		if !p.cfg.Restart || (p.cfg.MaxRestarts >= 0 && p.restartsSoFar() >= p.cfg.MaxRestarts) {
			p.log.Error("process will not be restarted", "restart", p.cfg.Restart, "max_restarts", p.cfg.MaxRestarts)
			p.setStatus(StatusFailed)
			return
		}
		if time.Since(started) > 30*time.Second {
			failures = 0 // it ran well for a while: start the backoff over
		}
		delay := backoff(failures)
		failures++
		p.setStatus(StatusExited)
		select {
		case <-ctx.Done():
			p.setStatus(StatusStopped)
			return
		case <-time.After(delay):
		}
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
	}
}

// backoff is 50ms, 100ms, 200ms, … capped at 10s.
func backoff(failures int) time.Duration {
	d := 50 * time.Millisecond << min(failures, 8)
	return min(d, 10*time.Second)
}

func (p *proc) restartsSoFar() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restarts
}

func (p *proc) setStatus(s string) {
	p.mu.Lock()
	p.status = s
	p.mu.Unlock()
}

// runOnce starts the child, waits for it to be ready and then to exit.
func (p *proc) runOnce(ctx context.Context) error {
	cmd := exec.Command(p.cfg.Command, p.cfg.Args...)
	cmd.Env = append(os.Environ(), "V2E_PROCESS_ID="+p.cfg.ID)
	if p.b.cfg.Path != "" {
		cmd.Env = append(cmd.Env, "V2E_CONFIG="+p.b.cfg.Path)
	}
	for k, v := range p.cfg.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	var out *outbox
	var fromChild *os.File
	if p.cfg.RPC {
		inFD, outFD := p.b.cfg.Broker.RPCInputFD, p.b.cfg.Broker.RPCOutputFD
		childIn, toChild, err := os.Pipe()
		if err != nil {
			return err
		}
		fc, childOut, err := os.Pipe()
		if err != nil {
			childIn.Close()
			toChild.Close()
			return err
		}
		fromChild = fc
		cmd.ExtraFiles = make([]*os.File, max(inFD, outFD)-2)
		cmd.ExtraFiles[inFD-3] = childIn
		cmd.ExtraFiles[outFD-3] = childOut
		cmd.Env = append(cmd.Env, "RPC_INPUT_FD="+strconv.Itoa(inFD), "RPC_OUTPUT_FD="+strconv.Itoa(outFD))
		out = newOutbox(toChild, seconds(p.b.cfg.Broker.RequestTimeoutSeconds))
	}
	p.setStatus(StatusStarting)
	if err := cmd.Start(); err != nil {
		for _, f := range cmd.ExtraFiles {
			if f != nil {
				f.Close()
			}
		}
		if out != nil {
			out.pipe.Close()
			fromChild.Close()
		}
		return fmt.Errorf("start %s: %w", p.cfg.Command, err)
	}
	p.mu.Lock()
	p.cmd, p.pid, p.startedAt, p.out = cmd, cmd.Process.Pid, time.Now(), out
	p.mu.Unlock()
	p.log.Info("process started", "pid", cmd.Process.Pid, "command", p.cfg.Command)

	var pipes sync.WaitGroup
	pipes.Add(2)
	go p.capture(&pipes, stdout, "stdout")
	go p.capture(&pipes, stderr, "stderr")
	var readerDone chan struct{}
	if out != nil {
		// The child has its own copies of its ends now; close ours so that
		// EOF is seen when the child exits.
		for _, f := range cmd.ExtraFiles {
			if f != nil {
				f.Close()
			}
		}
		readerDone = make(chan struct{})
		go func() {
			defer close(readerDone)
			defer fromChild.Close()
			var r io.Reader = fromChild
			if raw, err := rpc.NewRawFile(fromChild); err == nil {
				r = raw
			}
			p.b.readLoop(p, out, r)
		}()
	}
	exited := make(chan error, 1)
	go func() {
		pipes.Wait()
		exited <- cmd.Wait()
	}()

	if out == nil {
		p.setStatus(StatusRunning)
	} else {
		timeout := seconds(p.b.cfg.Broker.ReadyTimeoutSeconds)
		select {
		case <-out.ready:
		case err := <-exited:
			p.afterExit(out, readerDone)
			return fmt.Errorf("exited before it was ready: %v", exitText(err))
		case <-time.After(timeout):
			p.log.Error("process not ready in time; killing it", "timeout", timeout)
			p.kill(syscall.SIGKILL)
			err := <-exited
			p.afterExit(out, readerDone)
			return fmt.Errorf("not ready within %s: %v", timeout, exitText(err))
		}
	}
	err = <-exited
	p.afterExit(out, readerDone)
	return errors.New(exitText(err))
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// afterExit tears down routing state once the child has exited. The status
// changes with the pid, so nobody sees a "running" process with no pid (a
// caller signalling pid 0 would signal its own process group).
func (p *proc) afterExit(out *outbox, readerDone chan struct{}) {
	p.mu.Lock()
	p.out = nil
	p.pid = 0
	if p.status == StatusRunning || p.status == StatusStarting {
		p.status = StatusExited
	}
	p.mu.Unlock()
	if out != nil {
		out.close()
		<-readerDone
	}
	p.b.processGone(p)
}

// markReady is called by the read loop at subprocess_ready.
func (p *proc) markReady(out *outbox, methods any) {
	out.rOnce.Do(func() {
		p.mu.Lock()
		if p.out == out {
			p.status = StatusRunning
			p.methods = methods
		}
		p.mu.Unlock()
		close(out.ready)
		p.log.Info("process ready")
	})
}

// capture copies one output stream of the child into the log, line by line.
func (p *proc) capture(wg *sync.WaitGroup, r io.Reader, stream string) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.b.childLog.Info(sc.Text(), "process", p.cfg.ID, "stream", stream)
	}
	if err := sc.Err(); err != nil {
		p.log.Warn("log capture stopped", "stream", stream, "err", err)
		_, _ = io.Copy(io.Discard, r)
	}
}

func (p *proc) kill(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	pid := p.pid
	p.mu.Unlock()
	if cmd == nil || pid == 0 {
		return
	}
	_ = syscall.Kill(-pid, sig) // the whole process group
	_ = cmd.Process.Signal(sig)
}

// stop stops the child: SIGTERM (a service finishes the requests it is
// handling, so access can drain its HTTP requests through the still open
// pipes), then end of input, then SIGKILL after the deadline.
func (p *proc) stop(deadline time.Duration, done <-chan struct{}) {
	p.mu.Lock()
	p.stopping = true
	out := p.out
	running := p.pid != 0
	if running {
		p.status = StatusStopping
	}
	p.mu.Unlock()
	if !running {
		return
	}
	p.kill(syscall.SIGTERM)
	select {
	case <-done:
		return
	case <-time.After(deadline * 3 / 4):
	}
	if out != nil {
		p.log.Warn("process did not stop on SIGTERM; closing its input")
		out.close() // ends the write loop, which closes the pipe
	}
	select {
	case <-done:
		return
	case <-time.After(deadline / 4):
	}
	p.log.Error("process did not stop; killing it")
	p.kill(syscall.SIGKILL)
	<-done
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
