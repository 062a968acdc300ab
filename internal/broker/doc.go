// Package broker is the v2e process manager and message router.
//
// The broker spawns every process of config.json with two pipes passed as
// extra files (the child reads the first and writes the second, named by
// RPC_INPUT_FD and RPC_OUTPUT_FD), captures the child's stdout and stderr into
// its log, waits for the child's subprocess_ready event, and restarts a child
// that dies, with backoff, as its restart policy says.
//
// Routing (contract §2): a message with target "broker" (or none) is handled
// by the broker itself; a request is forwarded to its target's pipe and
// remembered by (target, correlation id) until the target answers, the
// target dies or the request times out; the answer, or an error the broker
// makes up, goes back to the requester. A message whose source names another
// process than the pipe it came from is refused.
//
// Each child has one writer goroutine that owns its input pipe, fed by a
// bounded queue, so a slow child delays only the messages addressed to it.
//
// Lock order: Broker.pendMu and proc.mu are never held together; neither is
// held while writing to a pipe or while waiting.
package broker
