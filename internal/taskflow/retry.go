package taskflow

import (
	"context"
	"errors"
	"time"
)

// Backoff returns how long to wait before retry number attempt (1, 2, ...).
type Backoff func(attempt int) time.Duration

// Exponential returns a Backoff of base, 2·base, 4·base, ... capped at limit.
func Exponential(base, limit time.Duration) Backoff {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < limit; i++ {
			d *= 2
		}
		return min(d, limit)
	}
}

// SleepFunc waits for d or until ctx is done, returning ctx's error then.
type SleepFunc func(ctx context.Context, d time.Duration) error

// Sleep is the real SleepFunc.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retry says how often and after what wait a failed task is tried again.
type Retry struct {
	Retries int     // extra attempts after the first; 0 means none
	Backoff Backoff // nil means no wait
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// attempt runs fn under a slot of lim, retrying per r; it holds no slot
// while it sleeps between attempts. It calls acquired, if not nil, once the
// first slot is held. It returns the last error and the number of attempts
// made.
func attempt(ctx context.Context, lim *Limiter, r Retry, sleep SleepFunc, acquired func(), fn func(context.Context) error) (int, error) {
	for n := 1; ; n++ {
		if err := lim.Acquire(ctx); err != nil {
			return n - 1, err
		}
		if n == 1 && acquired != nil {
			acquired()
		}
		err := fn(ctx)
		lim.Release()
		if err == nil || n > r.Retries || IsPermanent(err) || ctx.Err() != nil {
			return n, err
		}
		if r.Backoff != nil {
			if serr := sleep(ctx, r.Backoff(n)); serr != nil {
				return n, errors.Join(err, serr)
			}
		}
	}
}
