package meta

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

type cveIDParams struct {
	CVEID string `json:"cve_id"`
}

func (e *Engine) registerCVE(reg func(name, params, result, doc string, h service.Handler)) {
	reg("RPCGetCVE", "{cve_id}", "{cve, source}", "From local, else from NVD through remote (then stored in local).", e.hGetCVE)
	reg("RPCCreateCVE", "{cve_id}", "{success, cve_id, cve}", "Fetch from NVD and store.", e.hFetchStore)
	reg("RPCUpdateCVE", "{cve_id}", "{success, cve_id, cve}", "Fetch from NVD and store (newer wins).", e.hFetchStore)
	reg("RPCDeleteCVE", "{cve_id}", "{success, cve_id}", "Delete from local.", e.hDeleteCVE)
	reg("RPCListCVEs", "{offset?, limit?}", "{cves, total, offset, limit}", "As local.", e.forward("RPCListCVEs"))
	reg("RPCCountCVEs", "", "{count}", "As local.", e.forward("RPCCountCVEs"))
}

func cveIDOf(params json.RawMessage) (string, error) {
	p, err := service.Decode[cveIDParams](params)
	if err != nil {
		return "", err
	}
	id := strings.ToUpper(strings.TrimSpace(p.CVEID))
	return id, required("cve_id", id)
}

// isMissing reports whether err is a "not found" answer about the record,
// not about a missing method.
func isMissing(err error) bool {
	return errors.Is(err, rpc.NotFound) && !IsNoHandler(err)
}

func (e *Engine) hGetCVE(ctx context.Context, params json.RawMessage) (any, error) {
	id, err := cveIDOf(params)
	if err != nil {
		return nil, err
	}
	var local struct {
		CVE json.RawMessage `json:"cve"`
	}
	err = e.cfg.Caller.Call(ctx, targetLocal, "RPCGetCVEByID", cveIDParams{id}, &local)
	if err == nil && len(local.CVE) > 0 {
		return map[string]any{"cve": local.CVE, "source": "local"}, nil
	}
	if err != nil && !isMissing(err) {
		return nil, err
	}
	raw, err := e.fetchCVE(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.cfg.Caller.Call(ctx, targetLocal, "RPCSaveCVEByID", map[string]any{"cve": raw}, nil); err != nil {
		e.log.Warn("CVE fetched from NVD but not stored", "cve_id", id, "err", err)
	}
	return map[string]any{"cve": raw, "source": "remote"}, nil
}

// fetchCVE gets one record from NVD through remote.
func (e *Engine) fetchCVE(ctx context.Context, id string) (json.RawMessage, error) {
	var res struct {
		Vulnerabilities []struct {
			CVE json.RawMessage `json:"cve"`
		} `json:"vulnerabilities"`
	}
	if err := e.cfg.Caller.Call(ctx, targetRemote, "RPCGetCVEByID", cveIDParams{id}, &res); err != nil {
		return nil, err
	}
	for _, v := range res.Vulnerabilities {
		if len(v.CVE) > 0 {
			return v.CVE, nil
		}
	}
	return nil, rpc.Errorf(rpc.CodeNotFound, "CVE %q not found in NVD", id)
}

func (e *Engine) hFetchStore(ctx context.Context, params json.RawMessage) (any, error) {
	id, err := cveIDOf(params)
	if err != nil {
		return nil, err
	}
	raw, err := e.fetchCVE(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.cfg.Caller.Call(ctx, targetLocal, "RPCSaveCVEByID", map[string]any{"cve": raw}, nil); err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "cve_id": id, "cve": raw}, nil
}

func (e *Engine) hDeleteCVE(ctx context.Context, params json.RawMessage) (any, error) {
	id, err := cveIDOf(params)
	if err != nil {
		return nil, err
	}
	if err := e.cfg.Caller.Call(ctx, targetLocal, "RPCDeleteCVEByID", cveIDParams{id}, nil); err != nil {
		return nil, err
	}
	return map[string]any{"success": true, "cve_id": id}, nil
}

// forward passes a request to local as it is and returns local's answer.
func (e *Engine) forward(method string) service.Handler {
	return func(ctx context.Context, params json.RawMessage) (any, error) {
		var p any
		if len(params) > 0 {
			p = params
		}
		var out json.RawMessage
		if err := e.cfg.Caller.Call(ctx, targetLocal, method, p, &out); err != nil {
			return nil, err
		}
		return out, nil
	}
}
