// Package taskflow runs the meta service's jobs: a small DAG executor (Flow)
// and a streaming fetch→commit Pipeline, both sharing a Limiter whose size
// can change while they run (it follows the permits the broker grants).
//
// Flow runs named tasks once their dependencies have succeeded, at most
// Limiter.Limit at a time. Validate reports duplicate names, unknown
// dependencies and cycles (naming the cycle). A failing task is retried with
// the task's backoff, sleeping through an injected SleepFunc and holding no
// permit while it waits. The first failure cancels the run: no new task
// starts, running ones see their context cancelled, and Run returns the error
// naming the task once they have returned. Cancelling the caller's context
// does the same.
//
// Pipeline fetches pages concurrently (bounded by the Limiter and by a
// window of fetched-but-uncommitted pages) and commits them one at a time in
// page order, so checkpoints written by the commit stage only move forward.
//
// Every goroutine either type starts is waited for before Run returns.
package taskflow
