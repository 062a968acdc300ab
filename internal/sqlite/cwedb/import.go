package cwedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/v2e/v2e/internal/cwe"
)

// ImportResult reports what an import stored.
type ImportResult struct {
	Version    string
	Weaknesses int
	Categories int
	Views      int
	CAPECLinks int
}

// ImportFile parses the catalog at path (XML, zipped XML or the JSON form; see
// cwe.ReadFile) and stores it with Import. The caller confines path to the
// assets folder. A file that does not parse changes nothing.
func (s *Store) ImportFile(ctx context.Context, path string) (ImportResult, error) {
	c, err := cwe.ReadFile(path)
	if err != nil {
		return ImportResult{}, err
	}
	return s.Import(ctx, c, filepath.Base(path))
}

// Import replaces the stored catalog by c in one transaction. A catalog from
// the JSON form holds weaknesses only: it replaces the weaknesses, their
// relationships and CAPEC links and keeps the stored categories and views.
// A catalog with categories or views (the XML form) replaces those too; views
// saved by clients with ids the catalog does not use are kept.
func (s *Store) Import(ctx context.Context, c *cwe.Catalog, source string) (ImportResult, error) {
	res := ImportResult{Version: c.Version, Weaknesses: len(c.Weaknesses), Categories: len(c.Categories), Views: len(c.Views)}
	full := len(c.Categories) > 0 || len(c.Views) > 0
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		if err := clear(ctx, tx, full); err != nil {
			return err
		}
		links, err := insertWeaknesses(ctx, tx, c.Weaknesses)
		if err != nil {
			return err
		}
		res.CAPECLinks = links
		if full {
			if err := insertCategories(ctx, tx, c.Categories); err != nil {
				return err
			}
			if err := insertViews(ctx, tx, c.Views, "catalog"); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO catalog_meta (id, name, version, release_date, source, imported_at)
			VALUES (1, ?, ?, ?, ?, ?)`, c.Name, c.Version, c.Date, source, s.Now().UTC().Format(time.RFC3339))
		return err
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("cwedb: import %s: %w", source, err)
	}
	return res, nil
}

func clear(ctx context.Context, tx *sql.Tx, full bool) error {
	stmts := []string{`DELETE FROM weaknesses`, `DELETE FROM capec_links`, `DELETE FROM relationships WHERE origin = 'weakness'`}
	if full {
		stmts = append(stmts, `DELETE FROM categories`, `DELETE FROM relationships WHERE origin = 'category'`,
			`DELETE FROM relationships WHERE origin = 'view' AND source_id IN (SELECT id FROM views WHERE origin = 'catalog')`,
			`DELETE FROM views WHERE origin = 'catalog'`)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// inserter prepares one statement per table for the life of a transaction.
type inserter struct {
	ctx   context.Context
	stmts map[string]*sql.Stmt
	tx    *sql.Tx
}

func (in *inserter) exec(q string, args ...any) error {
	st, ok := in.stmts[q]
	if !ok {
		var err error
		if st, err = in.tx.PrepareContext(in.ctx, q); err != nil {
			return err
		}
		in.stmts[q] = st
	}
	_, err := st.ExecContext(in.ctx, args...)
	return err
}

func (in *inserter) close() {
	for _, st := range in.stmts {
		st.Close()
	}
}

const insertRelationship = `INSERT INTO relationships (source_id, target_id, nature, view_id, ordinal, chain_id, origin) VALUES (?, ?, ?, ?, ?, ?, ?)`

func insertWeaknesses(ctx context.Context, tx *sql.Tx, ws []cwe.Weakness) (links int, err error) {
	in := &inserter{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}}
	defer in.close()
	for i := range ws {
		w := &ws[i]
		id := num(w.ID)
		data, err := json.Marshal(w)
		if err != nil {
			return 0, err
		}
		if err := in.exec(`INSERT INTO weaknesses (id, name, abstraction, structure, status, description, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, w.Name, w.Abstraction, w.Structure, w.Status, string(w.Description), data); err != nil {
			return 0, fmt.Errorf("%s: %w", w.ID, err)
		}
		for _, r := range w.RelatedWeaknesses {
			if err := in.exec(insertRelationship, id, num(r.CWEID), r.Nature, num(r.ViewID), r.Ordinal, r.ChainID, "weakness"); err != nil {
				return 0, fmt.Errorf("%s: %w", w.ID, err)
			}
		}
		for _, ref := range w.RelatedAttackPatterns {
			capec, _ := cwe.ParseCAPECID(string(ref))
			if err := in.exec(`INSERT OR IGNORE INTO capec_links (cwe_id, capec_id) VALUES (?, ?)`, id, capec); err != nil {
				return 0, fmt.Errorf("%s: %w", w.ID, err)
			}
			links++
		}
	}
	return links, nil
}

func insertCategories(ctx context.Context, tx *sql.Tx, cs []cwe.Category) error {
	in := &inserter{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}}
	defer in.close()
	for i := range cs {
		c := &cs[i]
		data, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if err := in.exec(`INSERT INTO categories (id, name, status, summary, data) VALUES (?, ?, ?, ?, ?)`,
			num(c.ID), c.Name, c.Status, string(c.Summary), data); err != nil {
			return fmt.Errorf("%s: %w", c.ID, err)
		}
		for _, m := range c.Members {
			if err := in.exec(insertRelationship, num(c.ID), num(m.CWEID), "HasMember", nullNum(m.ViewID), "", "", "category"); err != nil {
				return fmt.Errorf("%s: %w", c.ID, err)
			}
		}
	}
	return nil
}

func insertViews(ctx context.Context, tx *sql.Tx, vs []cwe.View, origin string) error {
	in := &inserter{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}}
	defer in.close()
	for i := range vs {
		v := &vs[i]
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := in.exec(`INSERT INTO views (id, name, type, status, origin, data) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, status = excluded.status,
			origin = excluded.origin, data = excluded.data`,
			num(v.ID), v.Name, v.Type, v.Status, origin, data); err != nil {
			return fmt.Errorf("%s: %w", v.ID, err)
		}
		if err := in.exec(`DELETE FROM relationships WHERE origin = 'view' AND source_id = ?`, num(v.ID)); err != nil {
			return fmt.Errorf("%s: %w", v.ID, err)
		}
		for _, m := range v.Members {
			if err := in.exec(insertRelationship, num(v.ID), num(m.CWEID), "HasMember", nullNum(m.ViewID), "", "", "view"); err != nil {
				return fmt.Errorf("%s: %w", v.ID, err)
			}
		}
	}
	return nil
}

// num returns the number of a normalised "CWE-<n>" id (0 if it is not one;
// the cwe package has checked every id before a catalog gets here).
func num(id string) int {
	n, _ := cwe.ParseID(strings.TrimSpace(id))
	return n
}

func nullNum(id string) any {
	if id == "" {
		return nil
	}
	return num(id)
}
