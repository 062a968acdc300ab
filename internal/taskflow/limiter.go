package taskflow

import (
	"context"
	"sync"
)

// Limiter bounds how many tasks run at once. Unlike a fixed semaphore, its
// limit can be changed at any time: raising it lets waiters in at once;
// lowering it lets running holders finish and admits no one until the count
// in use is below the new limit. A limit of 0 admits no one (all permits
// revoked). It is safe for concurrent use.
type Limiter struct {
	mu    sync.Mutex
	limit int
	inUse int
	waits int           // goroutines waiting on wake
	wake  chan struct{} // closed and replaced when a slot may be free and someone waits
}

// NewLimiter returns a Limiter with limit n (negative counts as 0).
func NewLimiter(n int) *Limiter {
	return &Limiter{limit: max(n, 0), wake: make(chan struct{})}
}

// SetLimit changes the limit (negative counts as 0).
func (l *Limiter) SetLimit(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = max(n, 0)
	l.broadcast()
}

// Limit returns the current limit.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// InUse returns how many slots are held.
func (l *Limiter) InUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inUse
}

// Acquire takes a slot, waiting until one is free or ctx is done, in which
// case it returns ctx's error and holds nothing.
func (l *Limiter) Acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.inUse < l.limit {
			l.inUse++
			l.mu.Unlock()
			return nil
		}
		wake := l.wake
		l.waits++
		l.mu.Unlock()
		var err error
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-wake:
		}
		l.mu.Lock()
		l.waits--
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Release returns a slot taken by Acquire.
func (l *Limiter) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inUse == 0 {
		panic("taskflow: Release without Acquire")
	}
	l.inUse--
	l.broadcast()
}

func (l *Limiter) broadcast() {
	if l.waits == 0 {
		return
	}
	close(l.wake)
	l.wake = make(chan struct{})
}
