package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/urn"
)

// Assets locates the catalogs the import providers ask local to import.
type Assets struct {
	CWEPath   string // assets.cwe_raw_path
	CAPECPath string // assets.capec_xml_path
	CAPECXSD  string // assets.capec_xsd_path
	AttackDir string // assets.attack_dir: the ATT&CK domain workbooks (*.xlsx)
}

// importStep is one call to a local importer.
type importStep struct {
	name   string // file base name: the checkpoint URN's id
	method string
	params map[string]any
}

// importCursor is where an import run stands.
type importCursor struct {
	Done    int64 `json:"done"`  // steps done
	Total   int64 `json:"total"` // steps in all
	Count   int64 `json:"count"` // records imported
	Startup bool  `json:"startup,omitempty"`
	Skipped bool  `json:"skipped,omitempty"`
}

// importJob runs one catalog's import in local: cwe, capec or attack.
type importJob struct {
	e    *Engine
	kind urn.Type
}

func (j importJob) begin(_ bolt.ProviderRecord, o StartOptions) (json.RawMessage, error) {
	return json.Marshal(importCursor{Startup: o.Startup})
}

// steps lists the importer calls of the catalog.
func (j importJob) steps() ([]importStep, error) {
	a := j.e.cfg.Assets
	switch j.kind {
	case urn.CWE:
		return []importStep{{name: base(a.CWEPath, "cwe"), method: "RPCImportCWEs", params: pathParam(a.CWEPath)}}, nil
	case urn.CAPEC:
		ps := pathParam(a.CAPECPath)
		if a.CAPECXSD != "" {
			ps["xsd"] = a.CAPECXSD
		}
		return []importStep{{name: base(a.CAPECPath, "capec"), method: "RPCImportCAPECs", params: ps}}, nil
	case urn.ATTACK:
		if a.AttackDir == "" {
			return nil, fmt.Errorf("attack: assets.attack_dir is not set")
		}
		files, err := filepath.Glob(filepath.Join(a.AttackDir, "*.xlsx"))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("attack: no *.xlsx workbook in assets.attack_dir %q (%v)", a.AttackDir, err)
		}
		sort.Strings(files)
		var out []importStep
		for _, f := range files {
			out = append(out, importStep{name: filepath.Base(f), method: "RPCImportATTACKs", params: map[string]any{"path": f}})
		}
		return out, nil
	}
	return nil, fmt.Errorf("no importer for %s", j.kind)
}

func base(path, def string) string {
	if path == "" {
		return def
	}
	return strings.ReplaceAll(filepath.Base(path), " ", "_")
}

func pathParam(p string) map[string]any {
	if p == "" {
		return map[string]any{}
	}
	return map[string]any{"path": p}
}

// present reports whether the catalog is already stored, for the startup
// imports ("when absent"). CAPEC's importer skips a stored version itself.
func (j importJob) present(ctx context.Context) bool {
	var res struct {
		Total          int `json:"total"`
		TotalTechnique int `json:"total_techniques"`
	}
	switch j.kind {
	case urn.CWE:
		err := j.e.cfg.Caller.Call(ctx, targetLocal, "RPCListCWEs", map[string]any{"offset": 0, "limit": 1}, &res)
		return err == nil && res.Total > 0
	case urn.ATTACK:
		err := j.e.cfg.Caller.Call(ctx, targetLocal, "RPCGetAttackImportMetadata", nil, &res)
		return err == nil && res.TotalTechnique > 0
	}
	return false
}

func (j importJob) run(ctx context.Context, p *provider) error {
	var cur importCursor
	if err := json.Unmarshal(p.record().Cursor, &cur); err != nil {
		return fmt.Errorf("%s: bad cursor: %w", j.kind, err)
	}
	steps, err := j.steps()
	if err != nil {
		return err
	}
	cur.Total = int64(len(steps))
	if cur.Startup && cur.Done == 0 && j.present(ctx) {
		p.log.Info("catalog already stored: startup import skipped")
		cur.Done, cur.Skipped = cur.Total, true
		p.setCursor(cur)
		return nil
	}
	for i := int(cur.Done); i < len(steps); i++ {
		if err := j.step(ctx, p, &cur, steps[i]); err != nil {
			return err
		}
	}
	return nil
}

// step runs one importer call under a permit and checkpoints its outcome.
func (j importJob) step(ctx context.Context, p *provider, cur *importCursor, s importStep) error {
	u, err := urn.New(urn.MITRE, j.kind, s.name)
	if err != nil {
		return err
	}
	if err := p.lim.Acquire(ctx); err != nil {
		return err
	}
	var res struct {
		Count   int64 `json:"count"`
		Skipped bool  `json:"skipped"` // local already holds this version
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err = j.e.cfg.Caller.Call(cctx, targetLocal, s.method, s.params, &res)
	cancel()
	p.lim.Release()
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		if IsNoHandler(err) {
			err = fmt.Errorf("local cannot import %s yet (%s is not served): %w", j.kind, s.method, err)
		} else {
			err = fmt.Errorf("%s %s: %w", s.method, s.name, err)
		}
		p.addError()
		_ = p.checkpoint(u, false, err.Error())
		return err
	}
	cur.Done++
	if res.Skipped {
		p.log.Info("catalog version already stored: skipped by local", "step", s.name)
		res.Count = 0
	}
	cur.Count += res.Count
	p.progressed()
	return p.advanceImport(res.Count, *cur, u)
}

// advanceImport records one finished import step with its checkpoint.
func (p *provider) advanceImport(n int64, cursor any, u urn.URN) error {
	raw, err := json.Marshal(cursor)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.rec.ProcessedCount += n
	p.rec.Cursor = raw
	p.mu.Unlock()
	return p.checkpoint(u, true, "")
}
