package nvdserver

import (
	"sync"
	"time"
)

// limiter is NVD's rolling window: at most limit accepted requests per
// key in any window. Safe for concurrent use.
type limiter struct {
	mu      sync.Mutex
	window  time.Duration
	arrived map[string][]time.Time // accepted arrivals per key, oldest first
	maxSeen int                    // most accepted requests seen in one window
}

func newLimiter(window time.Duration) *limiter {
	return &limiter{window: window, arrived: map[string][]time.Time{}}
}

// allow counts a request by key at clock() if fewer than limit were accepted
// in (now-window, now]; otherwise it refuses and returns when the oldest
// of them leaves the window.
func (l *limiter) allow(key string, limit int, clock func() time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := clock()
	ts := l.arrived[key]
	cut := 0
	for cut < len(ts) && !ts[cut].After(now.Add(-l.window)) {
		cut++
	}
	ts = ts[cut:]
	if len(ts) >= limit {
		l.arrived[key] = ts

		return false, ts[0].Add(l.window).Sub(now)
	}
	ts = append(ts, now)
	l.arrived[key] = ts
	l.maxSeen = max(l.maxSeen, len(ts))
	return true, 0
}
