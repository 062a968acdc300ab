// Package bolt is the meta service's persistent store, session.db, on
// go.etcd.io/bbolt.
//
// Buckets:
//
//	sessions         session id → Session (JSON)
//	fsm_states       macro FSM id → MacroRecord (JSON)
//	provider_states  provider id → ProviderRecord (JSON)
//	checkpoints      provider id → bucket
//	                   log  8-byte big-endian sequence → checkpoint (binary)
//	                   ok   sequence of each successful checkpoint → empty
//	                   urn  urn.Key → sequence of the URN's latest checkpoint
//	permits          8-byte big-endian sequence → PermitEvent (JSON)
//
// Sequences only grow, so a provider's checkpoints are listed newest first
// by walking its log (or its ok index, for successful ones) backwards, and
// counted from the buckets' sequence numbers without a scan.
//
// All writes go through Update, whose Tx has typed helpers, so a provider's
// state transition and the checkpoint it guards are committed in one bbolt
// transaction (PersistProvider builds the fsm hook that does it). bbolt
// serialises writers; Store is safe for concurrent use.
//
// Durability: by default every commit is fsynced, so a committed checkpoint
// survives kill -9 and power loss. Options.NoSync skips fsync: commits still
// reach the operating system's page cache before Update returns, so they
// survive kill -9 of the process, but not a power cut or kernel crash, which
// can also corrupt the file. docs/etl.md records the measured costs.
package bolt
