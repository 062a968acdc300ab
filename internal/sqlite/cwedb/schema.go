package cwedb

import (
	"context"
	"database/sql"

	"github.com/v2e/v2e/internal/sqlite"
)

// migrations is the schema of cwe.db; append, never edit.
var migrations = []sqlite.Migration{
	func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
CREATE TABLE catalog_meta (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	name TEXT NOT NULL, version TEXT NOT NULL, release_date TEXT NOT NULL,
	source TEXT NOT NULL, imported_at TEXT NOT NULL
);
CREATE TABLE weaknesses (
	id INTEGER PRIMARY KEY, name TEXT NOT NULL, abstraction TEXT NOT NULL,
	structure TEXT NOT NULL, status TEXT NOT NULL, description TEXT NOT NULL, data BLOB NOT NULL
);
CREATE TABLE categories (
	id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, summary TEXT NOT NULL, data BLOB NOT NULL
);
-- origin: 'catalog' for views imported with the XML catalog, 'saved' for RPCSaveCWEView.
CREATE TABLE views (
	id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
	origin TEXT NOT NULL, data BLOB NOT NULL
);
-- Edges as the catalog states them (from weaknesses, HasMember from categories and views);
-- inverse natures are derived when read. origin is 'weakness', 'category' or 'view'.
CREATE TABLE relationships (
	source_id INTEGER NOT NULL, target_id INTEGER NOT NULL, nature TEXT NOT NULL,
	view_id INTEGER, ordinal TEXT NOT NULL DEFAULT '', chain_id TEXT NOT NULL DEFAULT '',
	origin TEXT NOT NULL
);
CREATE INDEX relationships_source ON relationships(source_id);
CREATE INDEX relationships_target ON relationships(target_id);
CREATE TABLE capec_links (
	cwe_id INTEGER NOT NULL, capec_id INTEGER NOT NULL, PRIMARY KEY (cwe_id, capec_id)
) WITHOUT ROWID;
CREATE INDEX capec_links_capec ON capec_links(capec_id, cwe_id);
`)
		return err
	},
	// 2: full-text indexes for the q filter of List and ListViews, filled
	// from the rows already stored and kept in step by triggers.
	func(ctx context.Context, tx *sql.Tx) error {
		stmts := append(weaknessText.Statements(), viewText.Statements()...)
		return sqlite.Exec(ctx, tx, stmts...)
	},
}

// The text each list's q filter searches besides the id: a weakness's name
// and description, a view's name and objective.
var (
	weaknessText = sqlite.TextIndex{Name: "weaknesses_fts", Source: "weaknesses", Key: "id",
		Text: `row.name || ' ' || row.description`}
	viewText = sqlite.TextIndex{Name: "views_fts", Source: "views", Key: "id",
		Text: `row.name || ' ' || coalesce(json_extract(CAST(row.data AS TEXT), '$.objective'), '')`}
)
