//go:build !mattn

package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// blobTable is a migration for the VFS tests: rows of one large blob each.
var blobTable = []Migration{func(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "CREATE TABLE b (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
	return err
}}

// blob is row k's content: 12 KiB that differ from every other row's.
func blob(k int) []byte {
	return bytes.Repeat([]byte(strconv.Itoa(k)+"-"), 12<<10/(len(strconv.Itoa(k))+1))
}

func insertBlobs(ctx context.Context, tx *sql.Tx, from, to int) error {
	for k := from; k < to; k++ {
		if _, err := tx.ExecContext(ctx, "INSERT INTO b VALUES (?, ?)", k, blob(k)); err != nil {
			return err
		}
	}
	return nil
}

// checkBlobs reads rows [0, n) through the reader pool (other connections,
// on SQLite's default VFS) and the integrity of the file.
func checkBlobs(t *testing.T, db *DB, n int) {
	t.Helper()
	ctx := context.Background()
	var count int
	if err := db.Reader().QueryRowContext(ctx, "SELECT count(*) FROM b").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Fatalf("%d rows, want %d", count, n)
	}
	for _, k := range []int{0, n / 2, n - 1} {
		var v []byte
		if err := db.Reader().QueryRowContext(ctx, "SELECT v FROM b WHERE k = ?", k).Scan(&v); err != nil {
			t.Fatalf("row %d: %v", k, err)
		}
		if !bytes.Equal(v, blob(k)) {
			t.Fatalf("row %d: %.40q…, want %.40q…", k, v, blob(k))
		}
	}
	var ok string
	if err := db.Reader().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
}

// writeCalls is the write system calls the process has made so far.
func writeCalls(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no syscw in /proc/self/io")
	return 0
}

// TestWalVFSGathersFrames: a transaction of many pages reaches the WAL in a
// few large writes, not two per page, and another connection reads every
// row once the commit returns.
func TestWalVFSGathersFrames(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := Open(ctx, path, blobTable)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const rows = 300 // ~3.6 MB: ~900 pages of 4 KiB (several overflow pages per row)
	before := writeCalls(t)
	if err := db.Write(ctx, func(tx *sql.Tx) error { return insertBlobs(ctx, tx, 0, rows) }); err != nil {
		t.Fatal(err)
	}
	calls := writeCalls(t) - before
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	var pageSize int64
	if err := db.Reader().QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	frames := st.Size() / (pageSize + 24)
	// SQLite's default VFS makes 2 calls per frame; walBufSize holds
	// walBufSize/(pageSize+24) frames.
	if limit := 2*frames*(pageSize+24)/walBufSize + 4; calls > limit {
		t.Fatalf("%d write calls for %d WAL frames, want at most %d", calls, frames, limit)
	}
	checkBlobs(t, db, rows)
}

// TestWalVFSCommitIsVisible: a commit of a single page, far less than the
// buffer, is in the file (and readable by other connections) when the
// commit returns, transaction after transaction.
func TestWalVFSCommitIsVisible(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"), blobTable)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for k := range 40 {
		if err := db.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO b VALUES (?, ?)", k, []byte{byte(k)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var v []byte
		if err := db.Reader().QueryRowContext(ctx, "SELECT v FROM b WHERE k = ?", k).Scan(&v); err != nil {
			t.Fatalf("commit %d not readable: %v", k, err)
		}
		if !bytes.Equal(v, []byte{byte(k)}) {
			t.Fatalf("commit %d: read %v", k, v)
		}
	}
}

// TestWalVFSSpillReadBackAndRollback: with a page cache too small for the
// transaction, SQLite writes pages to the WAL before the commit and reads
// them back; a rolled-back transaction leaves nothing, and the next one
// overwrites its frames.
func TestWalVFSSpillReadBackAndRollback(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"), blobTable)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.writer.ExecContext(ctx, "PRAGMA cache_size = 20"); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, func(tx *sql.Tx) error { return insertBlobs(ctx, tx, 0, 100) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = db.Write(ctx, func(tx *sql.Tx) error {
		if err := insertBlobs(ctx, tx, 100, 300); err != nil {
			return err
		}
		// Read back rows whose pages were spilled to the WAL.
		for _, k := range []int{0, 101, 150, 299} {
			var v []byte
			if err := tx.QueryRowContext(ctx, "SELECT v FROM b WHERE k = ?", k).Scan(&v); err != nil {
				return err
			}
			if !bytes.Equal(v, blob(k)) {
				t.Errorf("row %d read back inside the transaction: %.40q…", k, v)
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
	checkBlobs(t, db, 100)
	if err := db.Write(ctx, func(tx *sql.Tx) error { return insertBlobs(ctx, tx, 100, 250) }); err != nil {
		t.Fatal(err)
	}
	checkBlobs(t, db, 250)
	// The reopened file holds the same rows.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, db.Path, blobTable)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkBlobs(t, db, 250)
}

// BenchmarkWALCommit commits transactions of 200 rows of 12 KiB (≈ 170
// pages of 16 KiB) through the writer's VFS and through SQLite's default
// one, and reports the CPU time and write system calls of each commit (the
// WAL is reset between commits, outside the measurement, as a checkpoint
// resets it).
func BenchmarkWALCommit(b *testing.B) {
	if err := registerWalVFS(); err != nil {
		b.Fatal(err)
	}
	for _, vfs := range []string{"unix", walVFSName} {
		b.Run(vfs, func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "t.db")
			w, err := sql.Open(DriverName, "file:"+path+"?_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(0)&_txlock=immediate&vfs="+vfs)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			w.SetMaxOpenConns(1)
			for _, q := range []string{"PRAGMA page_size = 16384", "PRAGMA journal_mode = WAL", "CREATE TABLE b (k INTEGER PRIMARY KEY, v BLOB NOT NULL)"} {
				if _, err := w.ExecContext(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			const rows = 200
			var cpu time.Duration
			var calls int64
			for i := range b.N {
				if _, err := w.ExecContext(ctx, "PRAGMA wal_checkpoint(RESTART)"); err != nil {
					b.Fatal(err)
				}
				cpu0, calls0 := cpuTime(), writeCalls(b)
				err := func() error {
					tx, err := w.BeginTx(ctx, nil)
					if err != nil {
						return err
					}
					defer tx.Rollback()
					if err := insertBlobs(ctx, tx, i*rows, (i+1)*rows); err != nil {
						return err
					}
					return tx.Commit()
				}()
				if err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - cpu0
				calls += writeCalls(b) - calls0
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/commit")
			b.ReportMetric(float64(calls)/float64(b.N), "writes/commit")
		})
	}
}

// cpuTime is the user plus system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
