//go:build !mattn

package sqlite

import _ "modernc.org/sqlite" // registers the "sqlite" driver

// DriverName is the database/sql driver used for every database:
// modernc.org/sqlite, SQLite compiled to Go (no cgo). docs/storage.md
// records the benchmark that chose it over mattn/go-sqlite3, which a build
// with -tags mattn,sqlite_fts5 uses instead.
const DriverName = "sqlite"

func dsn(path string, readOnly bool) string {
	q := "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=temp_store(" + writerTempStore + ")&_txlock=immediate"
	if readOnly {
		q = "?_pragma=busy_timeout(10000)&_pragma=query_only(1)&_pragma=cache_size(-" + readerCacheKiB + ")"
	} else {
		q += "&vfs=" + walVFSName // walvfs.go
	}
	return "file:" + path + q
}

// prepareDriver registers the writer's VFS (walvfs.go).
func prepareDriver() error { return registerWalVFS() }
