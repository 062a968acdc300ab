package taskflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
)

// Errors of Validate and Run, wrapped with the names involved.
var (
	// ErrCycle means the dependencies form a cycle; the text lists it.
	ErrCycle = errors.New("taskflow: dependency cycle")
	// ErrUnknownDep means a task depends on a name no task has.
	ErrUnknownDep = errors.New("taskflow: unknown dependency")
	// ErrTask means a task was added with an empty or duplicate name or a
	// nil function.
	ErrTask = errors.New("taskflow: invalid task")
	// ErrCancelled is wrapped, with the context's error, when the caller's
	// context ends a run.
	ErrCancelled = errors.New("taskflow: run cancelled")
)

// Func is the work of a task. It must return soon after ctx is cancelled.
type Func func(ctx context.Context) error

// Task is one node of a Flow.
type Task struct {
	name  string
	fn    Func
	deps  []string
	retry Retry
	idx   int
}

// Name returns the task's name.
func (t *Task) Name() string { return t.name }

// After adds dependencies: t runs only after all of them succeeded.
func (t *Task) After(deps ...string) *Task {
	t.deps = append(t.deps, deps...)
	return t
}

// WithRetry sets how t is retried when it fails.
func (t *Task) WithRetry(r Retry) *Task {
	t.retry = r
	return t
}

// Flow is a DAG of tasks. Build it with Add, then Run it (once or more; it
// is not modified by Run). A Flow is not safe for concurrent building.
type Flow struct {
	tasks  []*Task
	byName map[string]*Task
	errs   []error
}

// New returns an empty Flow.
func New() *Flow { return &Flow{byName: map[string]*Task{}} }

// Add adds a task named name that runs fn after deps. Errors (empty or
// duplicate name, nil fn) are reported by Validate and Run.
func (f *Flow) Add(name string, fn Func, deps ...string) *Task {
	t := &Task{name: name, fn: fn, deps: deps, idx: len(f.tasks)}
	switch {
	case name == "":
		f.errs = append(f.errs, fmt.Errorf("%w: task %d has an empty name", ErrTask, t.idx))
	case f.byName[name] != nil:
		f.errs = append(f.errs, fmt.Errorf("%w: duplicate task name %q", ErrTask, name))
	case fn == nil:
		f.errs = append(f.errs, fmt.Errorf("%w: task %q has no function", ErrTask, name))
	default:
		f.byName[name] = t
	}
	f.tasks = append(f.tasks, t)
	return t
}

// Validate checks names, dependencies and acyclicity.
func (f *Flow) Validate() error {
	if len(f.errs) > 0 {
		return errors.Join(f.errs...)
	}
	for _, t := range f.tasks {
		for _, d := range t.deps {
			if f.byName[d] == nil {
				return fmt.Errorf("%w: task %q depends on %q", ErrUnknownDep, t.name, d)
			}
		}
	}
	return f.findCycle()
}

// findCycle runs a depth-first search and names the first cycle it meets.
func (f *Flow) findCycle() error {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(f.tasks))
	var path []string
	var visit func(t *Task) error
	visit = func(t *Task) error {
		color[t.idx] = grey
		path = append(path, t.name)
		for _, d := range t.deps {
			dt := f.byName[d]
			switch color[dt.idx] {
			case grey:
				i := indexOf(path, d)
				cycle := append(append([]string{}, path[i:]...), d)
				return fmt.Errorf("%w: %s", ErrCycle, strings.Join(cycle, " -> "))
			case white:
				if err := visit(dt); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		color[t.idx] = black
		return nil
	}
	for _, t := range f.tasks {
		if color[t.idx] == white {
			if err := visit(t); err != nil {
				return err
			}
		}
	}
	return nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// RunOptions tune a run. The zero value runs up to GOMAXPROCS tasks at once
// and sleeps for real.
type RunOptions struct {
	Limiter *Limiter     // shared bound on running tasks; nil means GOMAXPROCS
	Sleep   SleepFunc    // wait between retries; nil means Sleep
	Logger  *slog.Logger // nil discards
}

func (o *RunOptions) defaults() {
	if o.Limiter == nil {
		o.Limiter = NewLimiter(runtime.GOMAXPROCS(0))
	}
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

type result struct {
	t        *Task
	attempts int
	err      error
}

// Run validates the flow and runs it. It returns nil when every task
// succeeded; the first task error, as `taskflow: task "name": ...`; or an
// error wrapping ErrCancelled and ctx's error if ctx ended the run first.
func (f *Flow) Run(ctx context.Context, o RunOptions) error {
	if err := f.Validate(); err != nil {
		return err
	}
	o.defaults()
	s := &run{f: f, o: o, waiting: make([]int, len(f.tasks)), after: make([][]int, len(f.tasks))}
	var ready []*Task
	for _, t := range f.tasks {
		s.waiting[t.idx] = len(t.deps)
		for _, d := range t.deps {
			di := f.byName[d].idx
			s.after[di] = append(s.after[di], t.idx)
		}
		if len(t.deps) == 0 {
			ready = append(ready, t)
		}
	}
	return s.schedule(ctx, ready)
}

// run is the state of one Run.
type run struct {
	f       *Flow
	o       RunOptions
	waiting []int   // unfinished dependencies per task
	after   [][]int // dependents per task
	done    int     // tasks that succeeded
}

// schedule starts ready tasks and collects their results until none runs.
func (s *run) schedule(parent context.Context, ready []*Task) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	o := s.o
	results := make(chan result, len(s.f.tasks))
	var wg sync.WaitGroup
	defer wg.Wait()
	running := 0
	var first error
	for {
		for _, t := range ready {
			running++
			wg.Go(func() {
				n, err := attempt(ctx, o.Limiter, t.retry, o.Sleep, nil, t.fn)
				results <- result{t, n, err}
			})
		}
		ready = ready[:0]
		if running == 0 {
			if first == nil && s.done < len(s.f.tasks) {
				first = fmt.Errorf("%w: %w", ErrCancelled, parent.Err())
			}
			return first
		}
		r := <-results
		running--
		switch {
		case r.err == nil:
			o.Logger.Debug("task done", "task", r.t.name, "attempts", r.attempts)
			s.done++
			if first == nil && ctx.Err() == nil {
				ready = s.release(r.t, ready)
			}
		case first != nil:
			// a task stopped by the cancellation that followed the first error
		case parent.Err() != nil:
			first = fmt.Errorf("%w: %w", ErrCancelled, parent.Err())
			cancel()
		default:
			first = fmt.Errorf("taskflow: task %q (after %d attempts): %w", r.t.name, r.attempts, r.err)
			o.Logger.Warn("task failed", "task", r.t.name, "attempts", r.attempts, "error", r.err.Error())
			cancel()
		}
	}
}

// release marks t done and appends the tasks it unblocked to ready.
func (s *run) release(t *Task, ready []*Task) []*Task {
	for _, i := range s.after[t.idx] {
		s.waiting[i]--
		if s.waiting[i] == 0 {
			ready = append(ready, s.f.tasks[i])
		}
	}
	return ready
}
