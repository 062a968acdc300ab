package sysmon

import (
	"context"
	"encoding/json"
	"time"

	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

// Metrics is the result of RPCGetSysMetrics (contract §5).
type Metrics struct {
	Host
	Processes    []Process       `json:"processes"`
	MessageStats json.RawMessage `json:"message_stats"`
	History      []Host          `json:"history,omitempty"`
}

// Monitor samples the host periodically and answers RPCGetSysMetrics.
type Monitor struct {
	Reader  *Reader
	History *History
	svc     *service.Service
}

// Register adds RPCGetSysMetrics to s.
func (m *Monitor) Register(s *service.Service) {
	m.svc = s
	s.Register(service.Method{Name: "RPCGetSysMetrics", Params: "{history?: bool}",
		Result: "{cpu_usage, memory_usage, load_avg, uptime, disk_usage, disk_total, swap_usage, net_rx, net_tx, processes, message_stats, history?}",
		Doc:    "Host metrics from /proc, per-process CPU and RSS of the platform's processes, the broker's message stats; history: the last samples (every 5 s)."},
		m.get)
}

// Sample records a host reading every interval until ctx is done.
func (m *Monitor) Sample(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if h, err := m.Reader.Host(); err == nil {
			m.History.Add(h)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Monitor) get(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[struct {
		History bool `json:"history"`
	}](params)
	if err != nil {
		return nil, err
	}
	host, err := m.Reader.Host()
	if err != nil {
		return nil, rpc.Errorf(rpc.CodeInternal, "sysmon: %v", err)
	}
	out := Metrics{Host: host, Processes: []Process{}}
	var list struct {
		Processes []struct {
			ID  string `json:"id"`
			PID int    `json:"pid"`
		} `json:"processes"`
	}
	if err := m.svc.Call(ctx, rpc.BrokerID, "RPCListProcesses", nil, &list); err != nil {
		return nil, err
	}
	keep := map[int]bool{}
	for _, pr := range list.Processes {
		proc, err := m.Reader.Process(pr.ID, pr.PID)
		if err != nil {
			proc = Process{ID: pr.ID, PID: pr.PID} // exited between the list and the read
		}
		keep[pr.PID] = true
		out.Processes = append(out.Processes, proc)
	}
	m.Reader.Forget(keep)
	if out.MessageStats, err = m.svc.CallRaw(ctx, rpc.BrokerID, "RPCGetMessageStats", nil); err != nil {
		return nil, err
	}
	if p.History {
		out.History = m.History.Snapshot()
	}
	return out, nil
}
