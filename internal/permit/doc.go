// Package permit is the broker's authority over worker permits: how many
// ETL providers may run at once.
//
// A Pool holds Total permits (broker.permits.total, default 10) and an
// effective Limit <= Total. Request grants min(asked, Limit-Allocated) —
// zero is a valid answer, not an error — and Release gives back at most what
// the holder has. Holders are (service, provider) pairs so that a service
// that dies can be cleaned up with ReleaseService. RevokeProportional,
// SetLimit and Resize take permits back in proportion to holdings
// (largest-remainder rounding, so the parts add up exactly) and return what
// each holder lost, for the broker's RPCOnQuotaUpdate events.
//
// A Governor watches kernel-metrics samples (p99 latency, buffer saturation)
// and lowers the Limit when a threshold is crossed (at most once per
// Cooldown), then raises it step by step after HealthySamples consecutive
// samples below the lower "restore" thresholds. Its clock is injected.
//
// Invariants, kept under one mutex: 0 <= Allocated = sum of holdings; a
// holder is listed only while it holds at least one permit; Available =
// max(0, Limit-Allocated); after SetLimit or Resize, Allocated <= Limit.
//
// Lock order: Governor.mu, then Pool.mu. Pool never calls out while locked.
//
// The wire texts of ErrProviderRequired and ErrCountNotPositive are the
// contract's ("provider_id is required", "permit_count must be greater than
// 0"); they are returned unwrapped so err.Error() can go on the wire.
package permit
