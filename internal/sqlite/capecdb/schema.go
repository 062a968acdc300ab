package capecdb

import (
	"context"
	"database/sql"

	"github.com/v2e/v2e/internal/sqlite"
)

// migrations is the schema of capec.db; append, never edit.
var migrations = []sqlite.Migration{
	func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
CREATE TABLE catalog_meta (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	name TEXT NOT NULL, version TEXT NOT NULL, release_date TEXT NOT NULL, total_count INTEGER NOT NULL,
	source TEXT NOT NULL, imported_at TEXT NOT NULL, schema_warnings INTEGER NOT NULL
);
CREATE TABLE attack_patterns (
	id INTEGER PRIMARY KEY, name TEXT NOT NULL, abstraction TEXT NOT NULL, status TEXT NOT NULL,
	likelihood TEXT NOT NULL, severity TEXT NOT NULL, description TEXT NOT NULL, data BLOB NOT NULL
);
CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE views (id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE cwe_links (capec_id INTEGER NOT NULL, cwe_id INTEGER NOT NULL, PRIMARY KEY (capec_id, cwe_id)) WITHOUT ROWID;
CREATE INDEX cwe_links_cwe ON cwe_links(cwe_id, capec_id);
CREATE TABLE attack_links (capec_id INTEGER NOT NULL, technique_id TEXT NOT NULL, PRIMARY KEY (capec_id, technique_id)) WITHOUT ROWID;
CREATE INDEX attack_links_technique ON attack_links(technique_id, capec_id);
`)
		return err
	},
	// 2: a full-text index for the q filter of List, filled from the rows
	// already stored and kept in step by triggers.
	func(ctx context.Context, tx *sql.Tx) error {
		return sqlite.Exec(ctx, tx, attackPatternText.Statements()...)
	},
}

// attackPatternText is what List's q filter searches besides the id.
var attackPatternText = sqlite.TextIndex{Name: "attack_patterns_fts", Source: "attack_patterns", Key: "id",
	Text: `row.name || ' ' || row.description`}
