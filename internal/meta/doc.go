// Package meta is the meta service (contract §5 "meta"): the Unified ETL
// Engine that runs the providers cve, cwe, capec and attack as provider FSMs
// under the macro FSM "uee-orchestrator", the job sessions built on it, the
// startup imports, and the CVE methods that go through meta.
//
// An Engine owns one provider runtime per provider id. A provider run is one
// goroutine (its loop) that walks the provider FSM of contract §7:
//
//	ACQUIRING       ask the broker for permits (RPCRequestPermits); a broker
//	                without the method means "permits not enforced": 1 worker
//	RUNNING         do the work with as many workers as permits held
//	                (taskflow.Limiter), checkpointing every CheckpointEvery
//	                records through a bolt.CheckpointWriter
//	WAITING_QUOTA   the broker revoked permits (RPCOnQuotaUpdate); then
//	                ACQUIRING again
//	WAITING_BACKOFF NVD throttled us (see IsThrottle); wait until the persisted
//	                backoff deadline, then ACQUIRING again
//	PAUSED          user pause; permits released
//	TERMINATED      done, failed (LastError) or stopped; permits released
//
// Every transition is persisted (with the provider record, in one bbolt
// transaction) before it takes effect. Control requests (pause, stop, revoke,
// shutdown) cancel the loop's contexts with a cause; the loop, which alone
// applies transitions while it runs, turns the cause into the next state.
//
// Recovery (Engine.Start) follows contract §7: RUNNING and WAITING_QUOTA
// providers re-acquire permits and resume from their cursor, WAITING_BACKOFF
// keeps waiting until its deadline, PAUSED stays paused; a running session
// resumes with its provider and a paused one stays paused.
//
// The engine talks to the other services only through Caller, which
// *service.Service implements; tests use an in-process router over the real
// stores.
//
// Lock order: provider.mu is never held while calling the Machine, the
// broker or another provider; session.mu likewise. The fsm lock order
// (provider Machine → Macro → macro Machine) holds, and the provider hook
// then takes session.mu.
package meta
