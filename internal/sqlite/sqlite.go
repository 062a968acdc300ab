// Package sqlite opens the SQLite databases of the local service.
//
// A DB holds one writer connection and a pool of reader connections on the
// same file in WAL mode, so that readers never see "database is locked" while
// an import or a CVE sync writes: SQLite allows one writer and any number of
// readers in WAL mode, and the single writer connection serialises writes in
// Go instead of in SQLite's busy handler. Schemas are versioned by
// PRAGMA user_version and migrated forward in one transaction at Open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// ErrMigration is wrapped by errors from a failed schema migration.
var ErrMigration = errors.New("sqlite: migration failed")

// Migration is one schema step. Migrations run in order; the database's
// user_version records how many have been applied.
type Migration func(ctx context.Context, tx *sql.Tx) error

// DB is one SQLite file with a single writer connection and a reader pool.
// Write and Read are safe for concurrent use.
type DB struct {
	Path   string
	writer *sql.DB
	reader *sql.DB
}

// Open opens (creating if needed) the database at path in WAL mode and
// applies the migrations it has not seen yet.
func Open(ctx context.Context, path string, migrations []Migration) (*DB, error) {
	if err := prepareDriver(); err != nil {
		return nil, err
	}
	writer, err := sql.Open(DriverName, dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	db := &DB{Path: path, writer: writer}
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := db.migrate(ctx, migrations); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open(DriverName, dsn(path, true))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	db.reader = reader
	return db, nil
}

func (db *DB) migrate(ctx context.Context, migrations []Migration) error {
	var version int
	if err := db.writer.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("%w: %s: read user_version: %w", ErrMigration, db.Path, err)
	}
	if version > len(migrations) {
		return fmt.Errorf("%w: %s: schema version %d is newer than this binary knows (%d)", ErrMigration, db.Path, version, len(migrations))
	}
	// A migration of a stored database can take a while (cvedb's migration
	// 6 rebuilds its full-text index: 19 s for 300,000 records): say what
	// is happening, and how long it took.
	stored, start := version > 0 && version < len(migrations), time.Now()
	if stored {
		slog.Info("migrating the database schema", "path", db.Path, "from", version, "to", len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		err := db.Write(ctx, func(tx *sql.Tx) error {
			if err := migrations[i](ctx, tx); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: %s: step %d: %w", ErrMigration, db.Path, i+1, err)
		}
	}
	if stored {
		slog.Info("database schema migrated", "path", db.Path, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Write runs fn in a write transaction on the single writer connection and
// commits it when fn returns nil; otherwise it rolls back and returns fn's
// error, leaving the database as it was.
func (db *DB) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// readerCacheKiB is the page cache of each reader connection (SQLite's
// default is 2 MiB). A search that joins a few thousand scattered rows
// touches more pages than that; with the default every repeat reads them
// again with a system call each. It is allocated as pages are used.
const readerCacheKiB = "16384"

// writerTempStore is the writer connection's temp_store, set in its DSN
// (SQLite refuses to change it inside a transaction once the connection's
// temporary database is open, which an ALTER TABLE of a migration does). A
// multi-row INSERT that may abort runs under a statement journal, a copy of
// every already-written page the statement changes: in a temporary file
// that is two write system calls per page (in the CVE store's ingest, ~0.8
// of the writer's ~7.5 CPU-s per 100,000 records), in memory a copy. The
// mattn build (driver comparison only) leaves SQLite's default.
const writerTempStore = "MEMORY"

// Reader returns the pool of read-only connections.
func (db *DB) Reader() *sql.DB { return db.reader }

// Close closes both pools. It is safe to call twice.
func (db *DB) Close() error {
	var errs []error
	if db.reader != nil {
		errs = append(errs, db.reader.Close())
		db.reader = nil
	}
	if db.writer != nil {
		errs = append(errs, db.writer.Close())
		db.writer = nil
	}
	return errors.Join(errs...)
}
