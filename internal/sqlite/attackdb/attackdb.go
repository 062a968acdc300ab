// Package attackdb is the SQLite store of MITRE ATT&CK for the local service.
//
// Objects are keyed by (domain, kind, id): a group such as G1028 is stored
// once per domain whose workbook lists it, with that domain's relationships.
// Each object row keeps the attack type as JSON plus the columns queries need.
//
// Import writes one or more catalogs in a single transaction: a failed import
// leaves the previous data whole. Importing a newer release over an older one
// updates the objects it contains, adds the new ones and marks the ones it no
// longer contains present = false with removed_in = the new version; nothing
// is deleted. Every import is recorded in the imports table (history and
// per-domain metadata).
//
// A Store is safe for concurrent use: writes go through the single writer
// connection of internal/sqlite, reads through its reader pool.
package attackdb

import (
	"context"
	"database/sql"
	"time"

	"github.com/v2e/v2e/internal/attack"
	"github.com/v2e/v2e/internal/sqlite"
)

// Migrations is the schema, in order; sqlite.Open applies the missing ones.
var Migrations = []sqlite.Migration{schemaV1, schemaV2}

func schemaV1(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
CREATE TABLE imports (
	gen         INTEGER PRIMARY KEY AUTOINCREMENT,
	domain      TEXT NOT NULL,
	version     TEXT NOT NULL,
	source      TEXT NOT NULL,
	imported_at TEXT NOT NULL,
	counts      TEXT NOT NULL,
	removed     TEXT NOT NULL
);
CREATE INDEX imports_domain ON imports(domain, gen);
CREATE TABLE objects (
	domain     TEXT NOT NULL,
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	parent_id  TEXT NOT NULL DEFAULT '',
	data       TEXT NOT NULL,
	present    INTEGER NOT NULL,
	added_in   TEXT NOT NULL,
	removed_in TEXT NOT NULL DEFAULT '',
	gen        INTEGER NOT NULL,
	PRIMARY KEY (domain, kind, id),
	CHECK (domain IN ('enterprise-attack', 'mobile-attack', 'ics-attack') AND id <> '' AND name <> '')
);
CREATE INDEX objects_kind ON objects(kind, present, domain, id);
CREATE INDEX objects_id ON objects(kind, id);
CREATE INDEX objects_parent ON objects(domain, parent_id) WHERE parent_id <> '';
CREATE TABLE technique_tactics (
	domain       TEXT NOT NULL,
	tactic_id    TEXT NOT NULL,
	technique_id TEXT NOT NULL,
	PRIMARY KEY (domain, technique_id, tactic_id)
) WITHOUT ROWID;
CREATE TABLE relationships (
	domain      TEXT NOT NULL,
	stix_id     TEXT NOT NULL,
	type        TEXT NOT NULL,
	source_id   TEXT NOT NULL,
	source_ref  TEXT NOT NULL,
	source_type TEXT NOT NULL,
	source_name TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	target_ref  TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_name TEXT NOT NULL,
	description TEXT NOT NULL,
	created     TEXT NOT NULL,
	modified    TEXT NOT NULL,
	present     INTEGER NOT NULL,
	added_in    TEXT NOT NULL,
	removed_in  TEXT NOT NULL DEFAULT '',
	gen         INTEGER NOT NULL,
	PRIMARY KEY (domain, stix_id),
	CHECK (stix_id <> '' AND type <> '' AND source_ref <> '' AND target_ref <> '')
);
CREATE INDEX relationships_source ON relationships(domain, source_id, present);
CREATE INDEX relationships_target ON relationships(domain, target_id, present);
`)
	return err
}

// schemaV2 gives objects an INTEGER PRIMARY KEY (rid; (domain, kind, id)
// stays unique), so that its rowids survive a VACUUM, and indexes each
// object's name, description and aliases for the q filter of the lists.
func schemaV2(ctx context.Context, tx *sql.Tx) error {
	stmts := []string{
		// Import sets this in its transaction, which SQLite refuses once the
		// temporary database is open, as the table rebuild below opens it
		// on this (the writer) connection.
		`PRAGMA temp_store = MEMORY`,
		`CREATE TABLE objects_v2 (
	rid        INTEGER PRIMARY KEY,
	domain     TEXT NOT NULL,
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	parent_id  TEXT NOT NULL DEFAULT '',
	data       TEXT NOT NULL,
	present    INTEGER NOT NULL,
	added_in   TEXT NOT NULL,
	removed_in TEXT NOT NULL DEFAULT '',
	gen        INTEGER NOT NULL,
	UNIQUE (domain, kind, id),
	CHECK (domain IN ('enterprise-attack', 'mobile-attack', 'ics-attack') AND id <> '' AND name <> '')
)`,
		`INSERT INTO objects_v2 (domain, kind, id, name, parent_id, data, present, added_in, removed_in, gen)
	SELECT domain, kind, id, name, parent_id, data, present, added_in, removed_in, gen FROM objects ORDER BY rowid`,
		`DROP TABLE objects`,
		`ALTER TABLE objects_v2 RENAME TO objects`,
		`CREATE INDEX objects_kind ON objects(kind, present, domain, id)`,
		`CREATE INDEX objects_id ON objects(kind, id)`,
		`CREATE INDEX objects_parent ON objects(domain, parent_id) WHERE parent_id <> ''`,
	}
	return sqlite.Exec(ctx, tx, append(stmts, objectText.Statements()...)...)
}

// objectText is what the lists' q filter searches besides the id: the name,
// description and aliases (groups, software, campaigns) of an object.
var objectText = sqlite.TextIndex{Name: "objects_fts", Source: "objects", Key: "rid",
	Text: `row.name || ' ' || coalesce(json_extract(CAST(row.data AS TEXT), '$.description'), '') || ' ' ||
		coalesce(json_extract(CAST(row.data AS TEXT), '$.aliases'), '')`}

var _ attack.Service = (*Store)(nil)

// Store is the ATT&CK database; it implements attack.Service.
type Store struct {
	db *sqlite.DB
	// Now gives the import date; tests replace it. It defaults to time.Now.
	Now func() time.Time
}

// Open opens (creating and migrating as needed) the ATT&CK database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlite.Open(ctx, path, Migrations)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, Now: time.Now}, nil
}

// Close closes the database. It is safe to call twice.
func (s *Store) Close() error { return s.db.Close() }

// domainRank orders rows enterprise, mobile, ICS: the order get-by-id prefers.
const domainRank = `CASE domain WHEN 'enterprise-attack' THEN 0 WHEN 'mobile-attack' THEN 1 ELSE 2 END`
