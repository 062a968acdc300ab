package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOpenMigrateWriteRead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	steps := []Migration{func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)")
		return err
	}}
	db, err := Open(ctx, path, steps)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO kv VALUES ('a','1')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO kv VALUES ('b','2')"); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
	// Concurrent reads while writing must not fail with "database is locked".
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				var n int
				if err := db.Reader().QueryRowContext(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for j := 0; j < 50; j++ {
		if err := db.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO kv VALUES ('c', ?)", j)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	var n int
	if err := db.Reader().QueryRowContext(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2 (rolled-back row absent)", n, err)
	}
	db.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen: the migration is not applied twice; a newer schema is refused.
	db, err = Open(ctx, path, steps)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, path, nil); !errors.Is(err, ErrMigration) {
		t.Fatalf("want ErrMigration for newer schema, got %v", err)
	}
}

// TestMigrationOfStoredDatabaseIsLogged checks that migrating a database
// that already holds a schema says so, with the versions and how long it
// took, and that creating a new file says nothing.
func TestMigrationOfStoredDatabaseIsLogged(t *testing.T) {
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	step := func(table string) Migration {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "CREATE TABLE "+table+" (x)")
			return err
		}
	}
	db, err := Open(ctx, path, []Migration{step("a")})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if logs.Len() != 0 {
		t.Fatalf("a new file logged: %s", logs.String())
	}
	if db, err = Open(ctx, path, []Migration{step("a"), step("b"), step("c")}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := logs.String()
	for _, want := range []string{`msg="migrating the database schema"`, "from=1 to=3", `msg="database schema migrated"`, "took="} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %q:\n%s", want, out)
		}
	}
}
