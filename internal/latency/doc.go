// Package latency measures the broker's routing latency and traffic rates
// over a rolling time window, cheaply enough to call on every message.
//
// A Window is a ring of time slices (default 10 slices of 1s). Each slice
// holds a histogram with fixed log-linear buckets (HDR-style: exact below
// 16µs, then 16 buckets per power of two up to ~19 hours), a sample count,
// sum and maximum, and message and error counters, all atomics. Recording
// adds to one bucket of the current slice: no lock, no sort, no allocation.
// A slice is cleared by the first writer that finds it holding an epoch
// older than the current one. Reading sums the buckets of the slices still
// inside the window and walks them to the rank of the quantile, so p50 and
// p99 cost O(slices × buckets) per read and nothing per write. Quantiles are
// reported as the bucket midpoint (capped at the window's maximum), within
// about 3.2% of the true value.
//
// A Tracker keeps one overall Window plus one per target process, and the
// message and error rates (per second over the time the window actually
// covers: less at start-up, and the current slice only as far as it has
// run). The clock is injected through Config.Now.
package latency
