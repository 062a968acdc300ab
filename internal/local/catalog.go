package local

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/v2e/v2e/internal/assets"
	"github.com/v2e/v2e/internal/capec"
	"github.com/v2e/v2e/internal/cwe"
	"github.com/v2e/v2e/internal/service"
	"github.com/v2e/v2e/internal/sqlite"
	"github.com/v2e/v2e/internal/sqlite/capecdb"
	"github.com/v2e/v2e/internal/sqlite/cwedb"
)

func init() {
	notFoundErrs = append(notFoundErrs, cwe.ErrNotFound, capec.ErrNotFound)
	invalidErrs = append(invalidErrs, cwe.ErrInvalidID, cwe.ErrMalformed, cwedb.ErrBadRequest, capec.ErrInvalidID,
		capec.ErrMalformed, capec.ErrSchema, capec.ErrBadSchema, capecdb.ErrBadRequest, sqlite.ErrBadRequest, assets.ErrOutsideRoot)
}

// Assets locates the import files. Paths given in RPC params are relative to
// Dir and must stay inside it; the defaults come from config.json.
type Assets struct {
	Dir            string
	CWEPath        string
	CAPECPath      string
	CAPECXSDPath   string
	AttackDir      string
	CAPECStrictXSD bool
}

// resolve confines p (the default when p is empty) to the assets folder. A
// relative p names a file relative to the assets folder, or, as config.json
// paths do, relative to the working directory (the config's folder).
func (a Assets) resolve(p, def string) (string, error) {
	if p == "" {
		if def == "" {
			return "", invalidf("path is required")
		}
		p = def
	}
	root, err := filepath.Abs(a.Dir)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(p) {
		if abs, err := filepath.Abs(p); err == nil {
			if full, err := assets.ConfinePath(root, abs); err == nil {
				return full, nil
			}
		}
	}
	full, err := assets.ConfinePath(root, p)
	if err != nil {
		return "", wireError(fmt.Errorf("import path %q: %w", p, err))
	}
	return full, nil
}

// Catalogs serves the CWE, CWE view and CAPEC methods of local.
type Catalogs struct {
	CWE    *cwedb.Store
	CAPEC  *capecdb.Store
	Assets Assets
}

// Register adds the catalog methods to s.
func (h Catalogs) Register(s *service.Service) {
	reg := func(name, params, result, doc string, fn service.Handler) {
		s.Register(service.Method{Name: name, Params: params, Result: result, Doc: doc}, fn)
	}
	reg("RPCImportCWEs", "{path?}", "{success, count, version, categories, views, capec_links}", "Import the CWE catalog (XML, zipped XML or JSON) atomically; path is relative to the assets folder.", h.importCWEs)
	reg("RPCGetCWEByID", "{cwe_id}", "{cwe}", `A weakness or category; "CWE-79" or "79".`, h.getCWE)
	reg("RPCListCWEs", "{offset?, limit?, q?}", "{cwes, total, offset, limit}", qDoc("weaknesses", `"CWE-79" or "79"`, "name and description"), h.listCWEs)
	reg("RPCGetCWERelationships", "{cwe_id, relationship_type?}", "{relationships}", "Stated and inferred edges (ChildOf, ParentOf, PeerOf, CanPrecede, …) with view ids.", h.relationships)
	reg("RPCGetCWEMeta", "", "{version, …counts}", "What the stored CWE catalog holds.", h.cweMeta)
	reg("RPCSaveCWEView", "{view}", "{success, id}", "Store a view (snake_case or MITRE PascalCase).", h.saveView)
	reg("RPCGetCWEViewByID", "{view_id}", "{view}", "", h.getView)
	reg("RPCListCWEViews", "{offset?, limit?, q?}", "{views, total, offset, limit}", qDoc("views", `"CWE-1003" or "1003"`, "name and objective"), h.listViews)
	reg("RPCDeleteCWEView", "{view_id}", "{success}", "", h.deleteView)
	reg("RPCImportCAPECs", "{path?, xsd?}", "{success, count, skipped, version, warnings}", "Import the CAPEC catalog unless the same version is stored.", h.importCAPECs(false))
	reg("RPCForceImportCAPECs", "{path?, xsd?}", "{success, count, skipped, version, warnings}", "Import the CAPEC catalog even when the same version is stored.", h.importCAPECs(true))
	reg("RPCGetCAPECByID", "{capec_id}", "{capec}", `An attack pattern, category or view; "CAPEC-66" or "66".`, h.getCAPEC)
	reg("RPCListCAPECs", "{offset?, limit?, q?}", "{capecs, total, offset, limit}", qDoc("attack patterns", `"CAPEC-66" or "66"`, "name and description"), h.listCAPECs)
	reg("RPCGetCAPECCatalogMeta", "", "{version, release_date, total_count, …}", "", h.capecMeta)
}

// qDoc documents the q filter of a list method.
func qDoc(what, id, text string) string {
	return fmt.Sprintf("Pages of %s by id; q (at most %d characters) keeps those whose id is q (%s) or whose %s hold every word of q, case-insensitively, as word prefixes; total counts them.",
		what, sqlite.MaxQueryLen, id, text)
}

func (h Catalogs) importCWEs(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[struct {
		Path string `json:"path"`
	}](params)
	if err != nil {
		return nil, err
	}
	path, err := h.Assets.resolve(p.Path, h.Assets.CWEPath)
	if err != nil {
		return nil, err
	}
	res, err := h.CWE.ImportFile(ctx, path)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"success": true, "count": res.Weaknesses, "version": res.Version,
		"categories": res.Categories, "views": res.Views, "capec_links": res.CAPECLinks}, nil
}

type cweIDParams struct {
	CWEID            string `json:"cwe_id"`
	RelationshipType string `json:"relationship_type"`
}

func (h Catalogs) getCWE(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[cweIDParams](params)
	if err != nil {
		return nil, err
	}
	if err := service.Required("cwe_id", p.CWEID); err != nil {
		return nil, err
	}
	raw, err := h.CWE.Get(ctx, p.CWEID)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"cwe": raw}, nil
}

// listParams are the params of every catalog list method: a page and the
// text filter q.
type listParams struct {
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
	Q      string `json:"q"`
}

// listQuery decodes and checks list params; errors name the field.
func listQuery(params json.RawMessage) (sqlite.ListQuery, error) {
	p, err := service.Decode[listParams](params)
	if err != nil {
		return sqlite.ListQuery{}, err
	}
	pg, err := service.Page{Offset: p.Offset, Limit: p.Limit}.Normalize()
	if err != nil {
		return sqlite.ListQuery{}, err
	}
	if err := sqlite.CheckQuery(p.Q); err != nil {
		return sqlite.ListQuery{}, service.Errorf("%v", err)
	}
	return sqlite.ListQuery{Offset: pg.Offset, Limit: pg.Limit, Q: p.Q}, nil
}

func (h Catalogs) listCWEs(ctx context.Context, params json.RawMessage) (any, error) {
	q, err := listQuery(params)
	if err != nil {
		return nil, err
	}
	res, err := h.CWE.List(ctx, q)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"cwes": nonNil(res.Items), "total": res.Total, "offset": res.Offset, "limit": res.Limit}, nil
}

func nonNil(items []json.RawMessage) []json.RawMessage {
	if items == nil {
		return []json.RawMessage{}
	}
	return items
}

func (h Catalogs) relationships(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[cweIDParams](params)
	if err != nil {
		return nil, err
	}
	if err := service.Required("cwe_id", p.CWEID); err != nil {
		return nil, err
	}
	rels, err := h.CWE.Relationships(ctx, p.CWEID, p.RelationshipType)
	if err != nil {
		return nil, wireError(err)
	}
	if rels == nil {
		rels = []cwedb.Relationship{}
	}
	return map[string]any{"relationships": rels}, nil
}

func (h Catalogs) cweMeta(ctx context.Context, _ json.RawMessage) (any, error) {
	m, err := h.CWE.Meta(ctx)
	return m, wireError(err)
}

func (h Catalogs) saveView(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[struct {
		View json.RawMessage `json:"view"`
	}](params)
	if err != nil {
		return nil, err
	}
	if len(p.View) == 0 || string(p.View) == "null" {
		return nil, invalidf("view is required")
	}
	v, err := cwe.DecodeView(p.View)
	if err != nil {
		return nil, wireError(err)
	}
	id, err := h.CWE.SaveView(ctx, v)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"success": true, "id": id}, nil
}

type viewIDParams struct {
	ViewID string `json:"view_id"`
}

func (h Catalogs) viewID(params json.RawMessage) (string, error) {
	p, err := service.Decode[viewIDParams](params)
	if err != nil {
		return "", err
	}
	return p.ViewID, service.Required("view_id", p.ViewID)
}

func (h Catalogs) getView(ctx context.Context, params json.RawMessage) (any, error) {
	id, err := h.viewID(params)
	if err != nil {
		return nil, err
	}
	raw, err := h.CWE.View(ctx, id)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"view": raw}, nil
}

func (h Catalogs) listViews(ctx context.Context, params json.RawMessage) (any, error) {
	q, err := listQuery(params)
	if err != nil {
		return nil, err
	}
	res, err := h.CWE.ListViews(ctx, q)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"views": nonNil(res.Items), "total": res.Total, "offset": res.Offset, "limit": res.Limit}, nil
}

func (h Catalogs) deleteView(ctx context.Context, params json.RawMessage) (any, error) {
	id, err := h.viewID(params)
	if err != nil {
		return nil, err
	}
	if err := h.CWE.DeleteView(ctx, id); err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"success": true}, nil
}

func (h Catalogs) importCAPECs(force bool) service.Handler {
	return func(ctx context.Context, params json.RawMessage) (any, error) {
		p, err := service.Decode[struct {
			Path string `json:"path"`
			XSD  string `json:"xsd"`
		}](params)
		if err != nil {
			return nil, err
		}
		path, err := h.Assets.resolve(p.Path, h.Assets.CAPECPath)
		if err != nil {
			return nil, err
		}
		xsd, err := h.Assets.resolve(p.XSD, h.Assets.CAPECXSDPath)
		if err != nil {
			return nil, err
		}
		res, err := h.CAPEC.ImportFile(ctx, path, capecdb.ImportOptions{XSDPath: xsd, Strict: h.Assets.CAPECStrictXSD, Force: force})
		if err != nil {
			return nil, wireError(err)
		}
		warnings := make([]string, 0, len(res.Warnings))
		for _, w := range res.Warnings {
			warnings = append(warnings, fmt.Sprintf("line %d: %s: %s", w.Line, w.Element, w.Message))
		}
		return map[string]any{"success": true, "count": res.AttackPatterns, "skipped": res.Skipped, "version": res.Version,
			"release_date": res.ReleaseDate, "categories": res.Categories, "views": res.Views, "warnings": warnings}, nil
	}
}

func (h Catalogs) getCAPEC(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[struct {
		CAPECID string `json:"capec_id"`
	}](params)
	if err != nil {
		return nil, err
	}
	if err := service.Required("capec_id", p.CAPECID); err != nil {
		return nil, err
	}
	raw, err := h.CAPEC.Get(ctx, p.CAPECID)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"capec": raw}, nil
}

func (h Catalogs) listCAPECs(ctx context.Context, params json.RawMessage) (any, error) {
	q, err := listQuery(params)
	if err != nil {
		return nil, err
	}
	res, err := h.CAPEC.List(ctx, q)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"capecs": nonNil(res.Items), "total": res.Total, "offset": res.Offset, "limit": res.Limit}, nil
}

func (h Catalogs) capecMeta(ctx context.Context, _ json.RawMessage) (any, error) {
	m, err := h.CAPEC.Meta(ctx)
	return m, wireError(err)
}
