package cvedb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/v2e/v2e/internal/sqlite"
)

// checkpointEvery is how many bytes of records the writer commits between
// two background checkpoints (about 1,000 pages of 16 KiB).
const checkpointEvery = 16 << 20

// checkpointer copies the WAL into the database file from its own
// connection and goroutine, so that the single writer does not stop for
// the copy and its fsync every few thousand pages (SQLite's automatic
// checkpoint runs inside the commit that crosses the limit). It runs
// PASSIVE checkpoints: they never wait for or block the writer or readers.
// The writer's own automatic checkpoint stays as a backstop, at a larger
// WAL (WALCheckpointPages).
type checkpointer struct {
	db      *sql.DB
	written atomic.Int64 // bytes committed since the last kick
	kick    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startCheckpointer(path string) (*checkpointer, error) {
	db, err := sql.Open(sqlite.DriverName, "file:"+path)
	if err != nil {
		return nil, fmt.Errorf("cvedb: checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			slog.Warn("cvedb: background checkpoint", "err", err)
		}
	}
}

// committed records n bytes written by a committed transaction and wakes
// the checkpointer when enough have accumulated.
func (c *checkpointer) committed(n int) {
	if c.written.Add(int64(n)) < checkpointEvery {
		return
	}
	c.written.Store(0)
	select {
	case c.kick <- struct{}{}:
	default: // a checkpoint is pending already
	}
}

// close stops the goroutine, waits for it and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	return c.db.Close()
}
