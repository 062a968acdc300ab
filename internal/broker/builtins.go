package broker

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/v2e/v2e/internal/service"
)

// MessageStats are the counters of one process, or of all (contract §5).
type MessageStats struct {
	TotalSent     int64 `json:"total_sent"`
	TotalReceived int64 `json:"total_received"`
	RequestCount  int64 `json:"request_count"`
	ResponseCount int64 `json:"response_count"`
	EventCount    int64 `json:"event_count"`
	ErrorCount    int64 `json:"error_count"`
}

func (s *MessageStats) add(o MessageStats) {
	s.TotalSent += o.TotalSent
	s.TotalReceived += o.TotalReceived
	s.RequestCount += o.RequestCount
	s.ResponseCount += o.ResponseCount
	s.EventCount += o.EventCount
	s.ErrorCount += o.ErrorCount
}

// StatsReply is the result of RPCGetMessageStats.
type StatsReply struct {
	Total      MessageStats            `json:"total"`
	PerProcess map[string]MessageStats `json:"per_process"`
	Dropped    int64                   `json:"dropped"`
	Refused    int64                   `json:"refused"`
	Undecoded  int64                   `json:"undecodable"`
	Pending    int                     `json:"pending"`
}

// ProcessInfo is one row of RPCListProcesses.
type ProcessInfo struct {
	ID        string     `json:"id"`
	PID       int        `json:"pid"`
	Status    string     `json:"status"`
	Restarts  int        `json:"restarts"`
	StartedAt *time.Time `json:"started_at"`
	RPC       bool       `json:"rpc"`
	Command   string     `json:"command"`
}

// Stats returns the message counters.
func (b *Broker) Stats() StatsReply {
	r := StatsReply{PerProcess: make(map[string]MessageStats, len(b.order)),
		Dropped: b.dropped.Load(), Refused: b.refused.Load(), Undecoded: b.undecoded.Load()}
	for _, p := range b.order {
		s := MessageStats{
			TotalSent: p.stats.sent.Load(), TotalReceived: p.stats.received.Load(),
			RequestCount: p.stats.requests.Load(), ResponseCount: p.stats.responses.Load(),
			EventCount: p.stats.events.Load(), ErrorCount: p.stats.errs.Load(),
		}
		r.PerProcess[p.cfg.ID] = s
		r.Total.add(s)
	}
	b.pendMu.Lock()
	r.Pending = len(b.pending)
	b.pendMu.Unlock()
	return r
}

// Processes lists the processes in config order.
func (b *Broker) Processes() []ProcessInfo {
	out := make([]ProcessInfo, 0, len(b.order))
	for _, p := range b.order {
		p.mu.Lock()
		info := ProcessInfo{ID: p.cfg.ID, PID: p.pid, Status: p.status, Restarts: p.restarts, RPC: p.cfg.RPC, Command: p.cfg.Command}
		if !p.startedAt.IsZero() {
			t := p.startedAt.UTC()
			info.StartedAt = &t
		}
		p.mu.Unlock()
		out = append(out, info)
	}
	return out
}

// Methods returns, per process, the method catalogue it announced when ready.
func (b *Broker) Methods() map[string]any {
	out := make(map[string]any, len(b.order))
	for _, p := range b.order {
		p.mu.Lock()
		if p.methods != nil {
			out[p.cfg.ID] = p.methods
		}
		p.mu.Unlock()
	}
	return out
}

func (b *Broker) registerBuiltins() {
	b.Register(service.Method{Name: "RPCGetMessageStats",
		Result: "{total:{total_sent, total_received, request_count, response_count, event_count, error_count}, per_process:{<id>:{...same}}, dropped, refused, undecodable, pending}",
		Doc:    "Message counters, in all and per process; dropped: answers nobody waited for; refused: oversize lines and wrong sources; pending: requests waiting for an answer."},
		func(context.Context, string, json.RawMessage) (any, error) {
			return b.Stats(), nil
		})
	b.Register(service.Method{Name: "RPCGetMessageCount", Result: "{count}", Doc: "Messages the broker has received."},
		func(context.Context, string, json.RawMessage) (any, error) {
			return map[string]int64{"count": b.Stats().Total.TotalReceived}, nil
		})
	b.Register(service.Method{Name: "RPCListProcesses",
		Result: "{processes:[{id, pid, status, restarts, started_at, rpc, command}]}",
		Doc:    "Every configured process; status: starting, running, exited (waiting to restart), stopping, stopped or failed; pid 0 while not running."},
		func(context.Context, string, json.RawMessage) (any, error) {
			return map[string]any{"processes": b.Processes()}, nil
		})
	b.Register(service.Method{Name: "RPCListMethods",
		Result: "{processes:{<id>:[{name, params, result, doc}]}, broker:[{name, params, result, doc}]}",
		Doc:    "The method catalogue: what each service announced when it became ready, and the broker's own methods (docs/api.md is generated from it)."},
		func(context.Context, string, json.RawMessage) (any, error) {
			return map[string]any{"processes": b.Methods(), "broker": b.ownMethods()}, nil
		})
}

// ownMethods lists the broker's own methods, sorted by name.
func (b *Broker) ownMethods() []service.Method {
	out := make([]service.Method, 0, len(b.methods))
	for _, m := range b.methods {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
