package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/v2e/v2e/internal/rpc"
)

// source is one call the platform collector makes at scrape time, and how
// its answer becomes metrics.
type source struct {
	target, method string
	emit           func(raw json.RawMessage, ch chan<- prometheus.Metric) error
}

// PlatformCollector is a prometheus.Collector that asks the broker and meta
// for their figures on every scrape: message counts per process, restarts,
// kernel metrics (permits, latency per target), the job session and the ETL
// providers. Each call is bounded by Timeout; one that fails (the method does
// not exist yet, the process is down, the call timed out) is skipped and
// shows as v2e_scrape_source_up 0, so /metrics always answers.
//
// It is an unchecked collector: Describe sends nothing, because the label
// values (processes, providers, states) are only known at scrape time.
type PlatformCollector struct {
	Caller  Caller
	Timeout time.Duration // per call; default 2s
	Logger  *slog.Logger
}

var _ prometheus.Collector = (*PlatformCollector)(nil)

// Describe sends nothing: the collector is unchecked.
func (c *PlatformCollector) Describe(chan<- *prometheus.Desc) {}

var (
	descSourceUp  = prometheus.NewDesc("v2e_scrape_source_up", "1 when the call made at scrape time answered, 0 when it failed or timed out.", []string{"target", "method"}, nil)
	descSourceDur = prometheus.NewDesc("v2e_scrape_source_duration_seconds", "How long the call made at scrape time took.", []string{"target", "method"}, nil)
)

// Collect calls every source at once and waits for all of them (each within
// Timeout).
func (c *PlatformCollector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	var wg sync.WaitGroup
	for _, s := range sources {
		wg.Go(func() { c.collectOne(s, timeout, log, ch) })
	}
	wg.Wait()
}

func (c *PlatformCollector) collectOne(s source, timeout time.Duration, log *slog.Logger, ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	raw, err := c.Caller.CallRaw(ctx, s.target, s.method, nil)
	if err == nil {
		err = s.emit(raw, ch)
	}
	up := 1.0
	if err != nil {
		up = 0
		log.Debug("metrics source skipped", "target", s.target, "method", s.method, "err", err)
	}
	ch <- prometheus.MustNewConstMetric(descSourceUp, prometheus.GaugeValue, up, s.target, s.method)
	ch <- prometheus.MustNewConstMetric(descSourceDur, prometheus.GaugeValue, time.Since(start).Seconds(), s.target, s.method)
}

var sources = []source{
	{rpc.BrokerID, "RPCGetMessageStats", emitMessageStats},
	{rpc.BrokerID, "RPCListProcesses", emitProcesses},
	{rpc.BrokerID, "RPCGetKernelMetrics", emitKernel},
	{"meta", "RPCGetSessionStatus", emitSession},
	{"meta", "RPCGetEtlTree", emitEtlTree},
}

var (
	descMessages = prometheus.NewDesc("v2e_broker_messages_total", "Messages the broker counted per process, by kind (sent, received, request, response, event, error).", []string{"process", "kind"}, nil)
	descDropped  = prometheus.NewDesc("v2e_broker_dropped_total", "Late answers the broker dropped.", nil, nil)
	descRefused  = prometheus.NewDesc("v2e_broker_refused_total", "Messages the broker refused (wrong source).", nil, nil)
	descUndec    = prometheus.NewDesc("v2e_broker_undecodable_total", "Lines the broker could not decode.", nil, nil)
	descPending  = prometheus.NewDesc("v2e_broker_pending_requests", "Routed requests waiting for an answer.", nil, nil)
)

func emitMessageStats(raw json.RawMessage, ch chan<- prometheus.Metric) error {
	type counts struct {
		Sent      float64 `json:"total_sent"`
		Received  float64 `json:"total_received"`
		Requests  float64 `json:"request_count"`
		Responses float64 `json:"response_count"`
		Events    float64 `json:"event_count"`
		Errors    float64 `json:"error_count"`
	}
	var st struct {
		PerProcess map[string]counts `json:"per_process"`
		Dropped    float64           `json:"dropped"`
		Refused    float64           `json:"refused"`
		Undecoded  float64           `json:"undecodable"`
		Pending    float64           `json:"pending"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	for id, c := range st.PerProcess {
		for kind, v := range map[string]float64{"sent": c.Sent, "received": c.Received, "request": c.Requests,
			"response": c.Responses, "event": c.Events, "error": c.Errors} {
			ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, v, id, kind)
		}
	}
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, st.Dropped)
	ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, st.Refused)
	ch <- prometheus.MustNewConstMetric(descUndec, prometheus.CounterValue, st.Undecoded)
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, st.Pending)
	return nil
}

var (
	descRestarts = prometheus.NewDesc("v2e_process_restarts_total", "Times the broker restarted the process.", []string{"process"}, nil)
	descUp       = prometheus.NewDesc("v2e_process_up", "1 when the process is running, 0 otherwise; status is the broker's word for it.", []string{"process", "status"}, nil)
)

func emitProcesses(raw json.RawMessage, ch chan<- prometheus.Metric) error {
	var l struct {
		Processes []struct {
			ID       string  `json:"id"`
			Status   string  `json:"status"`
			Restarts float64 `json:"restarts"`
		} `json:"processes"`
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return err
	}
	for _, p := range l.Processes {
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, p.Restarts, p.ID)
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, b2f(p.Status == "running"), p.ID, p.Status)
	}
	return nil
}

var (
	descKernel    = prometheus.NewDesc("v2e_kernel_metric", "A numeric field of the broker's RPCGetKernelMetrics (permits, latency, saturation, rates), by field name.", []string{"field"}, nil)
	descTargetP99 = prometheus.NewDesc("v2e_broker_target_p99_latency_ms", "p99 latency of routed requests per target over the broker's window.", []string{"target"}, nil)
	descHeld      = prometheus.NewDesc("v2e_permits_held", "Worker permits held, by holder.", []string{"service", "provider"}, nil)
)

func emitKernel(raw json.RawMessage, ch chan<- prometheus.Metric) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return err
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v, err := strconv.ParseFloat(string(fields[k]), 64); err == nil {
			ch <- prometheus.MustNewConstMetric(descKernel, prometheus.GaugeValue, v, k)
		}
	}
	var targets map[string]float64
	if json.Unmarshal(fields["target_p99_ms"], &targets) == nil {
		for t, v := range targets {
			ch <- prometheus.MustNewConstMetric(descTargetP99, prometheus.GaugeValue, v, t)
		}
	}
	type holder struct{ service, provider string }
	var holdings []struct {
		Service  string  `json:"service"`
		Provider string  `json:"provider_id"`
		Permits  float64 `json:"permits"`
	}
	if json.Unmarshal(fields["holdings"], &holdings) == nil {
		held := map[holder]float64{}
		for _, h := range holdings {
			held[holder{h.Service, h.Provider}] += h.Permits
		}
		for h, n := range held {
			ch <- prometheus.MustNewConstMetric(descHeld, prometheus.GaugeValue, n, h.service, h.provider)
		}
	}
	return nil
}

var (
	descSession      = prometheus.NewDesc("v2e_session_active", "1 while a job session exists (any state but finished), with its data type and state.", []string{"data_type", "state"}, nil)
	descSessionCount = prometheus.NewDesc("v2e_session_items", "Items of the current job session by kind (fetched, stored, error).", []string{"data_type", "kind"}, nil)
	descSessionPct   = prometheus.NewDesc("v2e_session_progress_percent", "Progress of the current job session in percent.", []string{"data_type"}, nil)
)

func emitSession(raw json.RawMessage, ch chan<- prometheus.Metric) error {
	var s struct {
		HasSession bool    `json:"has_session"`
		State      string  `json:"state"`
		DataType   string  `json:"data_type"`
		Fetched    float64 `json:"fetched_count"`
		Stored     float64 `json:"stored_count"`
		Errors     float64 `json:"error_count"`
		Progress   *struct {
			Percent float64 `json:"percent"`
		} `json:"progress"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if !s.HasSession {
		ch <- prometheus.MustNewConstMetric(descSession, prometheus.GaugeValue, 0, "", "")
		return nil
	}
	ch <- prometheus.MustNewConstMetric(descSession, prometheus.GaugeValue, 1, s.DataType, s.State)
	for kind, v := range map[string]float64{"fetched": s.Fetched, "stored": s.Stored, "error": s.Errors} {
		ch <- prometheus.MustNewConstMetric(descSessionCount, prometheus.GaugeValue, v, s.DataType, kind)
	}
	if s.Progress != nil {
		ch <- prometheus.MustNewConstMetric(descSessionPct, prometheus.GaugeValue, s.Progress.Percent, s.DataType)
	}
	return nil
}

var (
	descMacro       = prometheus.NewDesc("v2e_etl_macro_state", "1 for the macro FSM's current state.", []string{"state"}, nil)
	descProvState   = prometheus.NewDesc("v2e_etl_provider_state", "1 for each provider FSM's current state.", []string{"provider", "state"}, nil)
	descProvDone    = prometheus.NewDesc("v2e_etl_provider_processed_total", "Items a provider processed.", []string{"provider"}, nil)
	descProvErrs    = prometheus.NewDesc("v2e_etl_provider_errors_total", "Errors a provider met.", []string{"provider"}, nil)
	descProvPermits = prometheus.NewDesc("v2e_etl_provider_permits_held", "Permits a provider holds.", []string{"provider"}, nil)
	descProvPct     = prometheus.NewDesc("v2e_etl_provider_progress_percent", "A provider's progress in percent.", []string{"provider"}, nil)
	descCheckpoints = prometheus.NewDesc("v2e_etl_checkpoints_total", "Checkpoints written by all providers.", nil, nil)
)

func emitEtlTree(raw json.RawMessage, ch chan<- prometheus.Metric) error {
	var t struct {
		Macro struct {
			State string `json:"state"`
		} `json:"macro_fsm"`
		Providers []struct {
			ID        string  `json:"id"`
			State     string  `json:"state"`
			Processed float64 `json:"processed_count"`
			Errors    float64 `json:"error_count"`
			Permits   float64 `json:"permits_held"`
			Progress  struct {
				Percent float64 `json:"percent"`
			} `json:"progress"`
		} `json:"providers"`
		Checkpoints float64 `json:"total_checkpoints"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return err
	}
	if t.Macro.State != "" {
		ch <- prometheus.MustNewConstMetric(descMacro, prometheus.GaugeValue, 1, t.Macro.State)
	}
	for _, p := range t.Providers {
		ch <- prometheus.MustNewConstMetric(descProvState, prometheus.GaugeValue, 1, p.ID, p.State)
		ch <- prometheus.MustNewConstMetric(descProvDone, prometheus.CounterValue, p.Processed, p.ID)
		ch <- prometheus.MustNewConstMetric(descProvErrs, prometheus.CounterValue, p.Errors, p.ID)
		ch <- prometheus.MustNewConstMetric(descProvPermits, prometheus.GaugeValue, p.Permits, p.ID)
		ch <- prometheus.MustNewConstMetric(descProvPct, prometheus.GaugeValue, p.Progress.Percent, p.ID)
	}
	ch <- prometheus.MustNewConstMetric(descCheckpoints, prometheus.CounterValue, t.Checkpoints)
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
