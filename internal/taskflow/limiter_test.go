package taskflow

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
)

func TestLimiterResize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l := NewLimiter(2)
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				if err := l.Acquire(ctx); err != nil {
					t.Error(err)
					return
				}
				<-release
				l.Release()
			})
		}
		synctest.Wait()
		if l.InUse() != 2 {
			t.Fatalf("limit 2: %d in use", l.InUse())
		}
		l.SetLimit(4) // more permits granted
		synctest.Wait()
		if l.InUse() != 4 {
			t.Fatalf("limit 4: %d in use", l.InUse())
		}
		l.SetLimit(1) // permits revoked: holders finish, one waiter gets in
		for range 4 {
			release <- struct{}{}
		}
		synctest.Wait()
		if l.InUse() != 1 || l.Limit() != 1 {
			t.Fatalf("limit 1 after 4 releases: %d in use", l.InUse())
		}
		close(release)
		wg.Wait()
		if l.InUse() != 0 {
			t.Errorf("%d in use at the end", l.InUse())
		}
	})
}

func TestLimiterAcquireCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(0) // all permits revoked
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() { errc <- l.Acquire(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) || l.InUse() != 0 {
			t.Errorf("Acquire = %v with %d in use", err, l.InUse())
		}
	})
	defer func() {
		if recover() == nil {
			t.Error("Release without Acquire did not panic")
		}
	}()
	NewLimiter(-1).Release()
}
