package local

import (
	"context"
	"encoding/json"

	"github.com/v2e/v2e/internal/attack"
	"github.com/v2e/v2e/internal/attack/xlsx"
	"github.com/v2e/v2e/internal/service"
)

func init() {
	notFoundErrs = append(notFoundErrs, attack.ErrNotFound)
	invalidErrs = append(invalidErrs, attack.ErrInvalidArgument, attack.ErrWorkbook)
}

// Attack serves the ATT&CK methods of local over an attack.Service.
type Attack struct {
	Store  attack.Service
	Assets Assets
}

type attackIDParams struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
}

type attackListParams struct {
	Offset         int    `json:"offset"`
	Limit          int    `json:"limit"`
	Domain         string `json:"domain"`
	Tactic         string `json:"tactic"`
	IncludeRemoved bool   `json:"include_removed"`
}

// getter answers {id, domain?} with {key: object}.
func getter[T any](key string, get func(ctx context.Context, id, domain string) (T, error)) service.Handler {
	return func(ctx context.Context, params json.RawMessage) (any, error) {
		p, err := service.Decode[attackIDParams](params)
		if err != nil {
			return nil, err
		}
		if err := service.Required("id", p.ID); err != nil {
			return nil, err
		}
		v, err := get(ctx, p.ID, p.Domain)
		if err != nil {
			return nil, wireError(err)
		}
		return map[string]any{key: v}, nil
	}
}

// lister answers {offset, limit, domain?} with {key: items, total, offset, limit}.
func lister[T any](key string, list func(ctx context.Context, o attack.ListOptions) ([]T, int, error)) service.Handler {
	return func(ctx context.Context, params json.RawMessage) (any, error) {
		p, err := service.Decode[attackListParams](params)
		if err != nil {
			return nil, err
		}
		pg, err := service.Page{Offset: p.Offset, Limit: p.Limit}.Normalize()
		if err != nil {
			return nil, err
		}
		items, total, err := list(ctx, attack.ListOptions{Offset: pg.Offset, Limit: pg.Limit, Domain: p.Domain,
			Tactic: p.Tactic, IncludeRemoved: p.IncludeRemoved})
		if err != nil {
			return nil, wireError(err)
		}
		if items == nil {
			items = []T{}
		}
		return map[string]any{key: items, "total": total, "offset": pg.Offset, "limit": pg.Limit}, nil
	}
}

// Register adds the ATT&CK methods to s.
func (h Attack) Register(s *service.Service) {
	reg := func(name, params, result, doc string, fn service.Handler) {
		s.Register(service.Method{Name: name, Params: params, Result: result, Doc: doc}, fn)
	}
	st := h.Store
	reg("RPCImportATTACKs", "{path?}", "{success, count, domains}", "Import an ATT&CK Excel workbook, or every workbook of a folder (default assets.attack_dir), atomically.", h.importATTACKs)
	reg("RPCGetAttackTechniqueByID", "{id, domain?}", "{technique}", "Domain defaults to enterprise, then mobile, then ICS.", getter("technique", st.GetTechnique))
	reg("RPCGetAttackTacticByID", "{id, domain?}", "{tactic}", "", getter("tactic", st.GetTactic))
	reg("RPCGetAttackMitigationByID", "{id, domain?}", "{mitigation}", "", getter("mitigation", st.GetMitigation))
	reg("RPCGetAttackSoftwareByID", "{id, domain?}", "{software}", "", getter("software", st.GetSoftware))
	reg("RPCGetAttackGroupByID", "{id, domain?}", "{group}", "", getter("group", st.GetGroup))
	reg("RPCGetAttackCampaignByID", "{id, domain?}", "{campaign}", "", getter("campaign", st.GetCampaign))
	reg("RPCListAttackTechniques", "{offset?, limit?, domain?, tactic?, include_removed?}", "{techniques, total, offset, limit}", "", lister("techniques", st.ListTechniques))
	reg("RPCListAttackTactics", "{offset?, limit?, domain?}", "{tactics, total, offset, limit}", "", lister("tactics", st.ListTactics))
	reg("RPCListAttackMitigations", "{offset?, limit?, domain?}", "{mitigations, total, offset, limit}", "", lister("mitigations", st.ListMitigations))
	reg("RPCListAttackSoftware", "{offset?, limit?, domain?}", "{software, total, offset, limit}", "", lister("software", st.ListSoftware))
	reg("RPCListAttackGroups", "{offset?, limit?, domain?}", "{groups, total, offset, limit}", "", lister("groups", st.ListGroups))
	reg("RPCListAttackCampaigns", "{offset?, limit?, domain?}", "{campaigns, total, offset, limit}", "", lister("campaigns", st.ListCampaigns))
	reg("RPCGetAttackImportMetadata", "", "{import_date, total_techniques, total_tactics, total_mitigations, total_software, total_groups, domains}", "", h.metadata)
	reg("RPCGetAttackTechniqueLinks", "{id, domain?}", "{technique, parent, subtechniques, tactics, mitigations, groups, software, campaigns, assets}", "Everything a technique connects to.", getter("links", st.TechniqueLinks))
	reg("RPCGetAttackLinks", "{id, domain?}", "{links}", "The relationships of any ATT&CK object (uses, mitigates, subtechnique-of, …).", getter("links", st.Links))
	reg("RPCGetAttackMatrix", "{domain?}", "{matrix:[{tactic, techniques}]}", "Tactics × techniques in kill-chain order.", h.matrix)
}

func (h Attack) importATTACKs(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[struct {
		Path string `json:"path"`
	}](params)
	if err != nil {
		return nil, err
	}
	path, err := h.Assets.resolve(p.Path, h.Assets.AttackDir)
	if err != nil {
		return nil, err
	}
	cats, err := xlsx.LoadPath(path)
	if err != nil {
		return nil, wireError(err)
	}
	res, err := h.Store.Import(ctx, cats...)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"success": true, "count": res.Count, "domains": res.Domains}, nil
}

func (h Attack) metadata(ctx context.Context, _ json.RawMessage) (any, error) {
	m, err := h.Store.Metadata(ctx)
	return m, wireError(err)
}

func (h Attack) matrix(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[attackIDParams](params)
	if err != nil {
		return nil, err
	}
	m, err := h.Store.Matrix(ctx, p.Domain)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"matrix": m}, nil
}
