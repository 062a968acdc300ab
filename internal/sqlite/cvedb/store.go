package cvedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/v2e/v2e/internal/cve"
	"github.com/v2e/v2e/internal/sqlite"
)

var _ cve.Store = (*Store)(nil)

// Store is the SQLite CVE store. It is safe for concurrent use; writes are
// serialised on the database's single writer connection.
type Store struct {
	db     *sqlite.DB
	ckpt   *checkpointer
	group  saveGroup
	getRaw *sql.Stmt // Get's query, prepared once per reader connection
}

// PageSize is the SQLite page size of a new CVE database. A stored record
// is 1-10 KB of JSON: with 16 KiB pages most fit in one page with others
// instead of spilling to overflow pages, and bulk writes make fewer calls.
const PageSize = 16384

// WriterCacheKiB is the page cache of the writer connection: enough to hold
// the interior pages of every index of a few hundred thousand CVEs, so a
// batch insert rarely reads from disk.
const WriterCacheKiB = 64 << 10

// WALCheckpointPages is how many pages the WAL may hold before the writer
// itself copies them into the database (SQLite's default is 1,000). The
// background checkpointer (checkpoint.go) normally does it long before;
// this bounds the WAL if it falls behind.
const WALCheckpointPages = 16000

// Open opens (creating and migrating as needed) the CVE database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := create(ctx, path); err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, path, Migrations)
	if err != nil {
		return nil, err
	}
	err = db.Write(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{fmt.Sprintf("PRAGMA cache_size = -%d", WriterCacheKiB), fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", WALCheckpointPages)} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cvedb: %s: %w", path, err)
	}
	getRaw, err := db.Reader().PrepareContext(ctx, `SELECT raw FROM cve_raw WHERE key = ?`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cvedb: %s: %w", path, err)
	}
	ckpt, err := startCheckpointer(path)
	if err != nil {
		getRaw.Close()
		db.Close()
		return nil, err
	}
	return &Store{db: db, ckpt: ckpt, getRaw: getRaw}, nil
}

// create makes a new database file with PageSize pages; the page size of
// an existing file cannot change.
func create(ctx context.Context, path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := sql.Open(sqlite.DriverName, "file:"+path)
	if err != nil {
		return fmt.Errorf("cvedb: create %s: %w", path, err)
	}
	defer db.Close()
	for _, q := range []string{fmt.Sprintf("PRAGMA page_size = %d", PageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("cvedb: create %s: %w", path, err)
		}
	}
	return db.Close()
}

// Close closes the database. It is safe to call twice.
func (s *Store) Close() error {
	var errs []error
	if s.getRaw != nil {
		errs = append(errs, s.getRaw.Close())
		s.getRaw = nil
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
		s.ckpt = nil
	}
	return errors.Join(append(errs, s.db.Close())...)
}

func key(id string) (int64, string, error) {
	norm, err := cve.NormalizeID(id)
	if err != nil {
		return 0, "", err
	}
	k, err := cve.IDKey(norm)
	return k, norm, err
}

func notFound(id string) error {
	return fmt.Errorf("cve_id %q: %w", id, cve.ErrNotFound)
}

// Get returns the stored cve object as it was saved (compacted). Errors wrap
// cve.ErrInvalid for a malformed id and cve.ErrNotFound for an unknown one.
func (s *Store) Get(ctx context.Context, id string) (json.RawMessage, error) {
	k, norm, err := key(id)
	if err != nil {
		return nil, err
	}
	var raw []byte
	err = s.getRaw.QueryRowContext(ctx, k).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(norm)
	}
	if err != nil {
		return nil, fmt.Errorf("cvedb: get %s: %w", norm, err)
	}
	return raw, nil
}

// IsStored reports whether id is stored.
func (s *Store) IsStored(ctx context.Context, id string) (bool, error) {
	k, norm, err := key(id)
	if err != nil {
		return false, err
	}
	var one int
	err = s.db.Reader().QueryRowContext(ctx, `SELECT 1 FROM cve WHERE key = ?`, k).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cvedb: is stored %s: %w", norm, err)
	}
	return true, nil
}

// CWEs returns the weakness ids of a stored CVE in record order.
func (s *Store) CWEs(ctx context.Context, id string) ([]string, error) {
	k, norm, err := key(id)
	if err != nil {
		return nil, err
	}
	var list string
	err = s.db.Reader().QueryRowContext(ctx, `SELECT cwes FROM cve WHERE key = ?`, k).Scan(&list)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(norm)
	}
	if err != nil {
		return nil, fmt.Errorf("cvedb: cwes of %s: %w", norm, err)
	}
	return splitList(list), nil
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// Delete removes a stored CVE; cve.ErrNotFound if it was not stored.
func (s *Store) Delete(ctx context.Context, id string) error {
	k, norm, err := key(id)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		w := newWriter(ctx, tx)
		defer w.close()
		found, err := w.lookup([]int64{k})
		if err != nil {
			return fmt.Errorf("cvedb: delete %s: %w", norm, err)
		}
		if _, ok := found[k]; !ok {
			return notFound(norm)
		}
		if err := w.unlink(k); err != nil {
			return fmt.Errorf("cvedb: delete %s: %w", norm, err)
		}
		return w.addCount(-1)
	})
}

// Count returns how many CVEs are stored.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT n FROM cve_count`).Scan(&n); err != nil {
		return 0, fmt.Errorf("cvedb: count: %w", err)
	}
	return n, nil
}

// List returns whole records in id order. limit 0 means cve.DefaultLimit; a
// negative offset or a limit over cve.MaxLimit is an error naming the field.
func (s *Store) List(ctx context.Context, offset, limit int) (cve.Page, error) {
	if offset < 0 {
		return cve.Page{}, fmt.Errorf("%w: field offset: %d is negative", cve.ErrInvalid, offset)
	}
	if limit == 0 {
		limit = cve.DefaultLimit
	}
	if limit < 0 || limit > cve.MaxLimit {
		return cve.Page{}, fmt.Errorf("%w: field limit: %d is outside 1..%d", cve.ErrInvalid, limit, cve.MaxLimit)
	}
	page := cve.Page{CVEs: []json.RawMessage{}, Offset: offset, Limit: limit}
	tx, err := s.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return page, fmt.Errorf("cvedb: list: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT n FROM cve_count`).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("cvedb: list: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.raw FROM (SELECT key FROM cve ORDER BY key LIMIT ? OFFSET ?) AS k
		JOIN cve_raw r ON r.key = k.key ORDER BY k.key`, limit, offset)
	if err != nil {
		return page, fmt.Errorf("cvedb: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return page, fmt.Errorf("cvedb: list: %w", err)
		}
		page.CVEs = append(page.CVEs, raw)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("cvedb: list: %w", err)
	}
	return page, nil
}
