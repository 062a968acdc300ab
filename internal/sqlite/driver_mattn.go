//go:build mattn

package sqlite

import _ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver (cgo)

// DriverName is mattn/go-sqlite3 in a build with -tags mattn (add
// sqlite_fts5 for the CVE store's full-text index). It exists to compare the
// drivers on our workload; the default build uses modernc.org/sqlite.
const DriverName = "sqlite3"

func dsn(path string, readOnly bool) string {
	q := "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate"
	if readOnly {
		q = "?_busy_timeout=10000&_query_only=1&_cache_size=-" + readerCacheKiB
	}
	return "file:" + path + q
}

// prepareDriver has nothing to do: the mattn build writes through SQLite's
// default VFS.
func prepareDriver() error { return nil }
