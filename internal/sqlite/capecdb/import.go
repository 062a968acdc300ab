package capecdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/v2e/v2e/internal/capec"
)

// ImportOptions controls ImportFile.
type ImportOptions struct {
	// XSDPath is the schema to validate against; empty skips validation.
	XSDPath string
	// Strict fails the import on any schema violation (config key
	// capec.strict_xsd_validation); otherwise violations are returned as
	// warnings and the import proceeds.
	Strict bool
	// Force imports even when the stored catalog has the same version
	// (RPCForceImportCAPECs).
	Force bool
}

// ImportResult reports what an import did.
type ImportResult struct {
	Version        string
	ReleaseDate    string
	AttackPatterns int // stored attack patterns (the stored total when skipped)
	Categories     int
	Views          int
	CWELinks       int
	AttackLinks    int
	Skipped        bool              // the same version was stored and Force was off
	Warnings       []capec.Violation // schema violations of a lenient import
}

// ImportFile imports the CAPEC XML catalog at path. The caller confines path
// and opt.XSDPath to the assets folder. It reads the root element first and
// skips the import when the stored catalog has the same version (unless
// opt.Force); otherwise it validates the file against opt.XSDPath, parses it
// and replaces the stored catalog in one transaction. Errors wrap
// capec.ErrMalformed (not well-formed, bad entry), capec.ErrSchema (strict
// validation failed) or capec.ErrBadSchema (unusable XSD); on any error the
// stored catalog is unchanged.
func (s *Store) ImportFile(ctx context.Context, path string, opt ImportOptions) (ImportResult, error) {
	h, err := capec.ReadHeaderFile(path)
	if err != nil {
		return ImportResult{}, err
	}
	if !opt.Force {
		m, err := s.Meta(ctx)
		if err != nil {
			return ImportResult{}, err
		}
		if m.Version == h.Version {
			return ImportResult{Version: m.Version, ReleaseDate: m.ReleaseDate, AttackPatterns: m.TotalCount,
				Categories: m.Categories, Views: m.Views, CWELinks: m.CWELinks, AttackLinks: m.AttackLinks, Skipped: true}, nil
		}
	}
	var schema *capec.Schema
	if opt.XSDPath != "" {
		if schema, err = capec.LoadSchemaFile(opt.XSDPath); err != nil {
			return ImportResult{}, err
		}
	}
	c, warnings, err := capec.ReadFile(path, schema, opt.Strict)
	if err != nil {
		return ImportResult{}, err
	}
	res, err := s.Import(ctx, c, filepath.Base(path), len(warnings))
	res.Warnings = warnings
	return res, err
}

// Import replaces the stored catalog by c in one transaction. warnings is the
// number of schema violations accepted with it, kept in the metadata.
func (s *Store) Import(ctx context.Context, c *capec.Catalog, source string, warnings int) (ImportResult, error) {
	res := ImportResult{Version: c.Version, ReleaseDate: c.Date, AttackPatterns: len(c.AttackPatterns),
		Categories: len(c.Categories), Views: len(c.Views)}
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM attack_patterns`, `DELETE FROM categories`, `DELETE FROM views`,
			`DELETE FROM cwe_links`, `DELETE FROM attack_links`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		var err error
		if res.CWELinks, res.AttackLinks, err = insertAttackPatterns(ctx, tx, c.AttackPatterns); err != nil {
			return err
		}
		if err := insertOthers(ctx, tx, c); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO catalog_meta
			(id, name, version, release_date, total_count, source, imported_at, schema_warnings) VALUES (1, ?, ?, ?, ?, ?, ?, ?)`,
			c.Name, c.Version, c.Date, len(c.AttackPatterns), source, s.Now().UTC().Format(time.RFC3339), warnings)
		return err
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("capecdb: import %s: %w", source, err)
	}
	return res, nil
}

// stmts prepares each statement once per transaction.
type stmts struct {
	ctx context.Context
	tx  *sql.Tx
	m   map[string]*sql.Stmt
}

func (st *stmts) exec(q string, args ...any) (sql.Result, error) {
	p, ok := st.m[q]
	if !ok {
		var err error
		if p, err = st.tx.PrepareContext(st.ctx, q); err != nil {
			return nil, err
		}
		st.m[q] = p
	}
	return p.ExecContext(st.ctx, args...)
}

func (st *stmts) close() {
	for _, p := range st.m {
		p.Close()
	}
}

func insertAttackPatterns(ctx context.Context, tx *sql.Tx, aps []capec.AttackPattern) (cweLinks, attackLinks int, err error) {
	st := &stmts{ctx: ctx, tx: tx, m: map[string]*sql.Stmt{}}
	defer st.close()
	for i := range aps {
		a := &aps[i]
		id, _ := capec.ParseID(a.ID)
		data, err := json.Marshal(a)
		if err != nil {
			return 0, 0, err
		}
		if _, err := st.exec(`INSERT INTO attack_patterns (id, name, abstraction, status, likelihood, severity, description, data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, a.Name, a.Abstraction, a.Status, a.Likelihood, a.Severity, string(a.Description), data); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", a.ID, err)
		}
		for _, w := range a.RelatedWeaknesses {
			cwe, _ := capec.ParseCWEID(string(w))
			r, err := st.exec(`INSERT OR IGNORE INTO cwe_links (capec_id, cwe_id) VALUES (?, ?)`, id, cwe)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", a.ID, err)
			}
			cweLinks += affected(r)
		}
		for _, t := range a.AttackTechniques {
			r, err := st.exec(`INSERT OR IGNORE INTO attack_links (capec_id, technique_id) VALUES (?, ?)`, id, t)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", a.ID, err)
			}
			attackLinks += affected(r)
		}
	}
	return cweLinks, attackLinks, nil
}

func affected(r sql.Result) int {
	n, _ := r.RowsAffected()
	return int(n)
}

func insertOthers(ctx context.Context, tx *sql.Tx, c *capec.Catalog) error {
	st := &stmts{ctx: ctx, tx: tx, m: map[string]*sql.Stmt{}}
	defer st.close()
	for i := range c.Categories {
		x := &c.Categories[i]
		id, _ := capec.ParseID(x.ID)
		data, err := json.Marshal(x)
		if err != nil {
			return err
		}
		if _, err := st.exec(`INSERT INTO categories (id, name, status, data) VALUES (?, ?, ?, ?)`, id, x.Name, x.Status, data); err != nil {
			return fmt.Errorf("%s: %w", x.ID, err)
		}
	}
	for i := range c.Views {
		x := &c.Views[i]
		id, _ := capec.ParseID(x.ID)
		data, err := json.Marshal(x)
		if err != nil {
			return err
		}
		if _, err := st.exec(`INSERT INTO views (id, name, type, status, data) VALUES (?, ?, ?, ?, ?)`, id, x.Name, x.Type, x.Status, data); err != nil {
			return fmt.Errorf("%s: %w", x.ID, err)
		}
	}
	return nil
}
