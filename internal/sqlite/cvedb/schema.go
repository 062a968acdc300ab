package cvedb

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/v2e/v2e/internal/sqlite"
)

// Migrations is the versioned schema of the CVE database, oldest first.
var Migrations = []sqlite.Migration{migrate1, migrate2, migrate3, migrate4, migrate5, migrate6}

func migrate1(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`CREATE TABLE cve (
			key           INTEGER PRIMARY KEY, -- cve.IDKey(id)
			id            TEXT NOT NULL,
			published     INTEGER NOT NULL,    -- unix microseconds, UTC
			last_modified INTEGER NOT NULL,
			status        TEXT NOT NULL COLLATE NOCASE,
			source        TEXT NOT NULL,
			v2_score REAL, v2_severity TEXT,
			v30_score REAL, v30_severity TEXT,
			v31_score REAL, v31_severity TEXT,
			v40_score REAL, v40_severity TEXT,
			best_score    REAL NOT NULL,       -- -1 when the record has no CVSS metric
			best_severity TEXT NOT NULL,       -- '' when none
			best_version  TEXT NOT NULL,
			kev           INTEGER NOT NULL,    -- 1 when cisaExploitAdd is set
			cisa_exploit_add TEXT, cisa_action_due TEXT, cisa_required_action TEXT, cisa_vulnerability_name TEXT,
			cwes          TEXT NOT NULL,       -- comma-separated, record order
			products      TEXT NOT NULL,       -- the CPE vendor/product pairs: vendor US product RS ...
			hash          BLOB NOT NULL,       -- sha256 of the compact raw record
			description   TEXT NOT NULL        -- English
		)`,
		`CREATE TABLE cve_raw (key INTEGER PRIMARY KEY, raw BLOB NOT NULL)`,
		`CREATE TABLE cve_cwe (cwe TEXT NOT NULL, key INTEGER NOT NULL, PRIMARY KEY (cwe, key)) WITHOUT ROWID`,
		`CREATE TABLE cve_cpe (vendor TEXT NOT NULL, product TEXT NOT NULL, key INTEGER NOT NULL,
			PRIMARY KEY (vendor, product, key)) WITHOUT ROWID`,
		`CREATE INDEX cve_cpe_product ON cve_cpe (product)`,
		`CREATE VIRTUAL TABLE cve_fts USING fts5 (text, content='', contentless_delete=1, detail=none, tokenize='unicode61 remove_diacritics 2')`,
		`CREATE TABLE cve_count (one INTEGER PRIMARY KEY CHECK (one = 1), n INTEGER NOT NULL)`,
		`INSERT INTO cve_count VALUES (1, 0)`,
		`CREATE INDEX cve_published ON cve (published)`,
		`CREATE INDEX cve_modified ON cve (last_modified)`,
		`CREATE INDEX cve_score ON cve (best_score)`,
		`CREATE INDEX cve_severity ON cve (best_severity, published)`,
		`CREATE INDEX cve_status ON cve (status, published)`,
		`CREATE INDEX cve_kev ON cve (published) WHERE kev = 1`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// migrate2 adds cve_vendor, one row per CVE and vendor: a vendor filter
// then counts and lists distinct CVEs without de-duplicating cve_cpe, where
// a vendor like microsoft has several products per CVE.
func migrate2(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`CREATE TABLE cve_vendor (vendor TEXT NOT NULL, key INTEGER NOT NULL, PRIMARY KEY (vendor, key)) WITHOUT ROWID`,
		`INSERT OR IGNORE INTO cve_vendor (vendor, key) SELECT vendor, key FROM cve_cpe`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// migrate3 rebuilds the full-text index with facet tokens (facet.go): every
// record gets a row of its descriptions, vendor, severity and year tokens.
func migrate3(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range migrate3Stmts() {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// migrate4 keys cve_cpe by (product, vendor, key): product filters and
// vendor+product filters both seek on a prefix of that key, so the separate
// product index (one more B-tree insert per CPE pair) goes.
func migrate4(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`CREATE TABLE cve_cpe_new (vendor TEXT NOT NULL, product TEXT NOT NULL, key INTEGER NOT NULL,
			PRIMARY KEY (product, vendor, key)) WITHOUT ROWID`,
		`INSERT INTO cve_cpe_new (vendor, product, key) SELECT vendor, product, key FROM cve_cpe`,
		`DROP TABLE cve_cpe`,
		`ALTER TABLE cve_cpe_new RENAME TO cve_cpe`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// migrate5 adds cve_key_order, the sort values of every record by key: a
// search whose filters are all key lists (product, vendor, CWE,
// full text) and whose matches are too few to walk a sort index for finds
// each match's sort value in this narrow index instead of in its table row,
// sorts them there and reads only the page's rows. The matches of a
// product like linux_kernel sit mostly among older records, so walking the
// publication index from the newest read most of it before a page was full
// (p99 28 ms on 300,000 stored); through this index it reads 3,648 entries.
func migrate5(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS cve_key_order ON cve (key, published, last_modified, best_score)`)
	return err
}

// migrate6 folds the link tables cve_cwe, cve_cpe and cve_vendor into the
// full-text index: every record's row gains CWE, product and vendor/product
// facet tokens (facet.go), and the CWE, vendor and product filters become
// facet tokens of the search's full-text query. A sync wrote each link row
// into a B-tree leaf that the batch's other records rarely shared; FTS5
// writes a transaction's tokens as one sorted segment. The rows are
// rebuilt from the stored records, a page of keys at a time, in key order.
func migrate6(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`DROP TABLE IF EXISTS cve_cwe`,
		`DROP TABLE IF EXISTS cve_cpe`,
		`DROP TABLE IF EXISTS cve_vendor`,
		`DROP TABLE cve_fts`,
		createFTS,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	w := newWriter(ctx, tx)
	defer w.close()
	last := int64(math.MinInt64)
	for {
		rows, err := tx.QueryContext(ctx, `SELECT key, raw FROM cve_raw WHERE key > ? ORDER BY key LIMIT 1000`, last)
		if err != nil {
			return err
		}
		var fts [][]any
		for rows.Next() {
			var raw []byte
			if err := rows.Scan(&last, &raw); err != nil {
				rows.Close()
				return err
			}
			p, err := prepare(raw) // the full-text row exactly as Save builds it
			if err != nil {
				rows.Close()
				return fmt.Errorf("stored record of key %d: %w", last, err)
			}
			fts = append(fts, []any{last, p.fts})
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(fts) == 0 {
			return nil
		}
		if err := w.insertAll("INSERT INTO cve_fts", []string{"rowid", "text"}, fts); err != nil {
			return err
		}
	}
}
