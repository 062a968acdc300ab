package local

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/v2e/v2e/internal/attack"
	"github.com/v2e/v2e/internal/attack/xlsx"
	"github.com/v2e/v2e/internal/service"
	"github.com/v2e/v2e/internal/sqlite"
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
	Q              string `json:"q"`
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

// lister answers {offset, limit, domain?, q?} with {key: items, total, offset, limit}.
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
		if err := sqlite.CheckQuery(p.Q); err != nil {
			return nil, service.Errorf("%v", err)
		}
		items, total, err := list(ctx, attack.ListOptions{Offset: pg.Offset, Limit: pg.Limit, Domain: p.Domain,
			Tactic: p.Tactic, IncludeRemoved: p.IncludeRemoved, Q: p.Q})
		if err != nil {
			return nil, wireError(err)
		}
		if items == nil {
			items = []T{}
		}
		return map[string]any{key: items, "total": total, "offset": pg.Offset, "limit": pg.Limit}, nil
	}
}

// attackQDoc documents an ATT&CK list method and its q filter.
func attackQDoc(what, id string) string {
	return fmt.Sprintf("Pages of %s, enterprise then mobile then ICS, each by id; q (at most %d characters) keeps those whose id is q (%s) or whose name, description and aliases hold every word of q, case-insensitively, as word prefixes; total counts them.",
		what, sqlite.MaxQueryLen, id)
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
	reg("RPCListAttackTechniques", "{offset?, limit?, domain?, tactic?, include_removed?, q?}", "{techniques, total, offset, limit}", attackQDoc("techniques and sub-techniques", `"T1059" also keeps T1059.001…`), lister("techniques", st.ListTechniques))
	reg("RPCListAttackTactics", "{offset?, limit?, domain?, q?}", "{tactics, total, offset, limit}", attackQDoc("tactics", `"TA0002"`), lister("tactics", st.ListTactics))
	reg("RPCListAttackMitigations", "{offset?, limit?, domain?, q?}", "{mitigations, total, offset, limit}", attackQDoc("mitigations", `"M1049"`), lister("mitigations", st.ListMitigations))
	reg("RPCListAttackSoftware", "{offset?, limit?, domain?, q?}", "{software, total, offset, limit}", attackQDoc("software", `"S0002"`), lister("software", st.ListSoftware))
	reg("RPCListAttackGroups", "{offset?, limit?, domain?, q?}", "{groups, total, offset, limit}", attackQDoc("groups", `"G0007"`), lister("groups", st.ListGroups))
	reg("RPCListAttackCampaigns", "{offset?, limit?, domain?, q?}", "{campaigns, total, offset, limit}", attackQDoc("campaigns", `"C0001"`), lister("campaigns", st.ListCampaigns))
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
	// The store writes each workbook's objects and relationships while the
	// loader still reads the rest, in one transaction: a bad workbook
	// leaves the previous catalogs whole.
	res, err := h.Store.ImportStream(ctx, func(s attack.Sink) error {
		_, err := xlsx.LoadPathTo(path, s)
		return err
	})
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
