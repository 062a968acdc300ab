// Package queue is the broker's optional message optimizer: bounded,
// batched, asynchronous delivery of routed messages to each destination.
//
// A Queue holds at most Buffer messages for one destination and one
// goroutine that takes them in FIFO order, groups up to Batch of them
// (waiting at most Flush for a partial batch to fill; zero means never
// wait) and calls the Sink. Config.OnWait reports each message's time in
// the queue, the broker's own routing latency.
// When the queue is full, Offer follows the Policy: Wait blocks the sender
// (never losing a message it accepted), Drop discards the new message and
// Reject hands ErrFull back to the caller. Every outcome is counted in
// Stats.
//
// Ordering: messages to one destination reach its sink in the order their
// Offers succeeded, and the sink for one destination never runs
// concurrently with itself — a single writer per pipe. Concurrent Offers
// from several goroutines are ordered by whichever enqueues first. Workers
// bounds how many deliveries run at once across a Group's destinations; it
// parallelises across destinations, never within one.
//
// Memory: a queue holds at most Buffer + Batch messages whatever the
// consumer's speed; the bound is in messages, not bytes. Offer copies each
// message into a pooled buffer (up to 64 KiB; larger ones are allocated) so
// that callers may reuse their read buffer; Config.NoCopy skips the copy.
//
// Lifecycle: New and Group.Add start the delivery goroutine; Close stops
// new Offers, delivers what is queued and waits for the goroutine. Time is
// only used for the flush timer; tests run it under testing/synctest.
package queue
