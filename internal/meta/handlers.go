package meta

import (
	"context"
	"encoding/json"

	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

// Registrar is where handlers go; *service.Service implements it.
type Registrar interface {
	Register(m service.Method, h service.Handler)
	OnEvent(id string, fn service.EventHandler)
}

func invalid(format string, args ...any) error { return rpc.Errorf(rpc.CodeInvalid, format, args...) }

func required(field, value string) error { return service.Required(field, value) }

// Register adds the meta methods of contract §5 and the RPCOnQuotaUpdate
// event handler to r.
func (e *Engine) Register(r Registrar) {
	reg := func(name, params, result, doc string, h service.Handler) {
		r.Register(service.Method{Name: name, Params: params, Result: result, Doc: doc}, h)
	}
	ctl := func(h service.Handler) service.Handler {
		return func(ctx context.Context, params json.RawMessage) (any, error) {
			if err := e.awaitReady(ctx); err != nil {
				return nil, err
			}
			return h(ctx, params)
		}
	}
	reg("RPCStartSession", "{session_id, start_index?, results_per_batch?}", "{success, session_id, state, created_at}",
		"Start a full CVE sync session (one active session at a time).", ctl(e.hStartSession))
	reg("RPCStartTypedSession", "{session_id, data_type, start_index?, results_per_batch?, params?}",
		"{success, session_id, state, created_at, data_type}", "Start a session of data_type cve, cwe, capec or attack.", ctl(e.hStartTyped))
	reg("RPCGetSessionStatus", "", "{has_session, session_id, state, data_type, ..., progress}", "", ctl(e.hStatus))
	reg("RPCPauseJob", "", "{success, state}", "Pause the running session.", ctl(e.hPause))
	reg("RPCResumeJob", "", "{success, state}", "Resume the paused session.", ctl(e.hResume))
	reg("RPCStopSession", "", "{success, session_id, fetched_count, stored_count, error_count}", "Stop and forget the session.", ctl(e.hStop))
	reg("RPCGetEtlTree", "", "{macro_fsm, providers, total_checkpoints}", "The macro FSM and every provider FSM.", ctl(e.hTree))
	reg("RPCGetProviderCheckpoints", "{provider_id, limit?, success_only?}", "{checkpoints, total}", "Newest first.", e.hCheckpoints)
	reg("RPCStartProvider", "{provider_id, start_index?, results_per_batch?, full?}", "{success, provider_id, state}", "", ctl(e.hProvider(e.startFromParams)))
	reg("RPCPauseProvider", "{provider_id}", "{success, provider_id, state}", "", ctl(e.hProvider(func(p providerParams) error { return e.PauseProvider(p.ProviderID) })))
	reg("RPCResumeProvider", "{provider_id}", "{success, provider_id, state}", "", ctl(e.hProvider(func(p providerParams) error { return e.ResumeProvider(p.ProviderID) })))
	reg("RPCStopProvider", "{provider_id}", "{success, provider_id, state}", "", ctl(e.hProvider(func(p providerParams) error { return e.StopProvider(p.ProviderID) })))
	e.registerCVE(reg)
	r.OnEvent("RPCOnQuotaUpdate", func(_ context.Context, payload json.RawMessage) {
		u, err := service.Decode[QuotaUpdate](payload)
		if err != nil {
			e.log.Warn("bad RPCOnQuotaUpdate", "err", err)
			return
		}
		e.OnQuotaUpdate(u)
	})
}

func (e *Engine) startResult(s SessionParams, typed bool) (any, error) {
	sess, err := e.sessions.start(s)
	if err != nil {
		return nil, err
	}
	res := map[string]any{"success": true, "session_id": sess.ID, "state": sess.State, "created_at": sess.CreatedAt}
	if typed {
		res["data_type"] = sess.DataType
	}
	return res, nil
}

func (e *Engine) hStartSession(_ context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[SessionParams](params)
	if err != nil {
		return nil, err
	}
	p.DataType = ProviderCVE
	return e.startResult(p, false)
}

func (e *Engine) hStartTyped(_ context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[SessionParams](params)
	if err != nil {
		return nil, err
	}
	if err := required("data_type", p.DataType); err != nil {
		return nil, err
	}
	return e.startResult(p, true)
}

func (e *Engine) hStatus(context.Context, json.RawMessage) (any, error) {
	return e.sessions.status(), nil
}

func (e *Engine) hPause(context.Context, json.RawMessage) (any, error) {
	if err := e.sessions.pause(); err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "state": e.sessions.status().State}, nil
}

func (e *Engine) hResume(context.Context, json.RawMessage) (any, error) {
	if err := e.sessions.resume(); err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "state": e.sessions.status().State}, nil
}

func (e *Engine) hStop(context.Context, json.RawMessage) (any, error) {
	s, err := e.sessions.stop()
	if err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "session_id": s.ID, "state": s.State, "fetched_count": s.FetchedCount,
		"stored_count": s.StoredCount, "error_count": s.ErrorCount}, nil
}

func (e *Engine) hTree(context.Context, json.RawMessage) (any, error) { return e.Tree() }

type checkpointParams struct {
	ProviderID  string `json:"provider_id"`
	Limit       int    `json:"limit"`
	SuccessOnly bool   `json:"success_only"`
}

// CheckpointView is one checkpoint as RPCGetProviderCheckpoints returns it.
type CheckpointView struct {
	URN          string `json:"urn"`
	ProviderID   string `json:"provider_id"`
	ProcessedAt  string `json:"processed_at"`
	Success      bool   `json:"success"`
	ErrorMessage string `json:"error_message"`
}

func (e *Engine) hCheckpoints(_ context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[checkpointParams](params)
	if err != nil {
		return nil, err
	}
	if err := required("provider_id", p.ProviderID); err != nil {
		return nil, err
	}
	if _, err := e.provider(p.ProviderID); err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		p.Limit = service.DefaultLimit
	}
	if p.Limit > service.MaxLimit {
		return nil, invalid("limit %d is over %d", p.Limit, service.MaxLimit)
	}
	cs, total, err := e.store.ListCheckpoints(p.ProviderID, p.Limit, p.SuccessOnly)
	if err != nil {
		return nil, err
	}
	out := make([]CheckpointView, 0, len(cs))
	for _, c := range cs {
		out = append(out, CheckpointView{URN: c.URN.String(), ProviderID: c.ProviderID,
			ProcessedAt: c.ProcessedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Success: c.Success, ErrorMessage: c.ErrorMessage})
	}
	return map[string]any{"checkpoints": out, "total": total}, nil
}

type providerParams struct {
	ProviderID      string `json:"provider_id"`
	StartIndex      int    `json:"start_index"`
	ResultsPerBatch int    `json:"results_per_batch"`
	Full            bool   `json:"full"`
}

func (e *Engine) startFromParams(p providerParams) error {
	return e.StartProvider(p.ProviderID, StartOptions{Full: p.Full || p.StartIndex > 0, StartIndex: p.StartIndex, PageSize: p.ResultsPerBatch})
}

// hProvider adapts a provider control to a handler.
func (e *Engine) hProvider(fn func(providerParams) error) service.Handler {
	return func(_ context.Context, params json.RawMessage) (any, error) {
		p, err := service.Decode[providerParams](params)
		if err != nil {
			return nil, err
		}
		if err := required("provider_id", p.ProviderID); err != nil {
			return nil, err
		}
		if err := fn(p); err != nil {
			return nil, err
		}
		st, _ := e.ProviderState(p.ProviderID)
		return map[string]any{"success": true, "provider_id": p.ProviderID, "state": st}, nil
	}
}
