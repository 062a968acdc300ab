package taskflow

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Pipeline fetches numbered pages concurrently and commits them in page
// order. Fetches take Limiter slots in page order and may then run several
// at once (bounded by Limiter and Window); Commit runs for one page at a
// time, in increasing page order, on the goroutine that called Run, so a
// checkpoint written in Commit is always later than the one before it.
type Pipeline[T any] struct {
	// Fetch produces the value of one page. Required.
	Fetch func(ctx context.Context, page int) (T, error)
	// Commit stores the value of one page. Required.
	Commit func(ctx context.Context, page int, v T) error
	// Limiter bounds concurrent fetches; nil means GOMAXPROCS.
	Limiter *Limiter
	// Window bounds pages fetched or being fetched but not yet committed,
	// so memory stays bounded when one slow page holds the others back
	// (default 16).
	Window int
	// Retry applies to each page's Fetch (not to Commit).
	Retry Retry
	// Sleep waits between retries; nil means Sleep.
	Sleep SleepFunc
}

type page[T any] struct {
	n   int
	v   T
	err error
}

// Run processes pages first, first+1, ..., first+count-1 and returns how
// many were committed (all from first on, without gaps) and the first error.
//
// When page k's Fetch fails after its retries, no page after k is started;
// pages before k are still fetched and committed, then Run returns the
// error naming page k, having committed k-first pages. A Commit error stops
// at once. When ctx is cancelled Run stops committing and returns an error
// wrapping ErrCancelled and ctx's error. Run returns once every fetch it
// started has returned.
func (p *Pipeline[T]) Run(ctx context.Context, first, count int) (int, error) {
	if p.Fetch == nil || p.Commit == nil {
		return 0, errors.New("taskflow: pipeline needs Fetch and Commit")
	}
	o := RunOptions{Limiter: p.Limiter, Sleep: p.Sleep}
	o.defaults()
	window := p.Window
	if window <= 0 {
		window = 16
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &pipeRun[T]{p: p, o: o, results: make(chan page[T], window), buf: map[int]T{}}
	r.gate = make(chan struct{})
	close(r.gate)
	defer r.wg.Wait()
	done, err := r.loop(ctx, first, first+max(count, 0), window)
	cancel()
	for ; r.inflight > 0; r.inflight-- {
		<-r.results
	}
	return done - first, err
}

// pipeRun is the state of one Pipeline.Run.
type pipeRun[T any] struct {
	p        *Pipeline[T]
	o        RunOptions
	results  chan page[T]
	buf      map[int]T     // fetched pages waiting for their turn to commit
	gate     chan struct{} // closed when the last started page holds its slot
	inflight int
	wg       sync.WaitGroup
}

func (r *pipeRun[T]) loop(ctx context.Context, first, end, window int) (done int, err error) {
	next, done := first, first
	var fetchErr error
	for done < end {
		for ; next < end && next-done < window; next++ {
			r.start(ctx, next)
		}
		res := <-r.results
		r.inflight--
		switch {
		case res.err != nil && ctx.Err() != nil:
			return done, fmt.Errorf("%w: fetching page %d: %w", ErrCancelled, res.n, ctx.Err())
		case res.err != nil && res.n < end:
			end, fetchErr = res.n, fmt.Errorf("taskflow: fetch page %d: %w", res.n, res.err)
		case res.err == nil && res.n < end:
			r.buf[res.n] = res.v
		}
		if done, err = r.commitReady(ctx, done); err != nil {
			return done, err
		}
	}
	return done, fetchErr
}

// start fetches page n in a goroutine that takes its slot after page n-1's.
func (r *pipeRun[T]) start(ctx context.Context, n int) {
	prev, mine := r.gate, make(chan struct{})
	r.gate = mine
	r.inflight++
	r.wg.Go(func() {
		var once sync.Once
		acquired := func() { once.Do(func() { close(mine) }) }
		defer acquired() // never leave the next page waiting
		var v T
		var err error
		select {
		case <-prev:
			_, err = attempt(ctx, r.o.Limiter, r.p.Retry, r.o.Sleep, acquired, func(ctx context.Context) (e error) {
				v, e = r.p.Fetch(ctx, n)
				return e
			})
		case <-ctx.Done():
			err = ctx.Err()
		}
		r.results <- page[T]{n, v, err}
	})
}

// commitReady commits buffered pages from done on, in order.
func (r *pipeRun[T]) commitReady(ctx context.Context, done int) (int, error) {
	for {
		v, ok := r.buf[done]
		if !ok {
			return done, nil
		}
		delete(r.buf, done)
		if err := ctx.Err(); err != nil {
			return done, fmt.Errorf("%w: before commit of page %d: %w", ErrCancelled, done, err)
		}
		if err := r.p.Commit(ctx, done, v); err != nil {
			return done, fmt.Errorf("taskflow: commit page %d: %w", done, err)
		}
		done++
	}
}
