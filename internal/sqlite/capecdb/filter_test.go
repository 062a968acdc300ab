package capecdb

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/v2e/v2e/internal/capec"
	"github.com/v2e/v2e/internal/sqlite"
	"github.com/v2e/v2e/internal/sqlite/sqlitetest"
)

var parsed = sync.OnceValues(func() (*capec.Catalog, error) {
	c, _, err := capec.ReadFile(catalogPath, nil, false)
	return c, err
})

func catalog(t *testing.T) *capec.Catalog {
	t.Helper()
	c, err := parsed()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantFrom is the oracle of List over these attack patterns: in id order,
// those whose id q names or whose name and description match q.
func wantFrom(aps []capec.AttackPattern) func(q string) []string {
	entries := make([]sqlitetest.Entry, len(aps))
	for i, a := range aps {
		entries[i] = sqlitetest.Entry{ID: a.ID, Words: sqlitetest.Words(a.Name + " " + string(a.Description))}
	}
	slices.SortFunc(entries, func(a, b sqlitetest.Entry) int {
		x, _ := capec.ParseID(a.ID)
		y, _ := capec.ParseID(b.ID)
		return x - y
	})
	return func(q string) []string {
		n, err := capec.ParseID(q)
		return sqlitetest.Want(entries, q, func(id string) bool { m, _ := capec.ParseID(id); return err == nil && m == n })
	}
}

func TestListFilter(t *testing.T) {
	s := imported(t)
	want := wantFrom(catalog(t).AttackPatterns)
	sqlitetest.CheckFilter(t, sqlitetest.PageList(s.List), want, []sqlitetest.FilterCase{
		{Q: "injection", Must: "CAPEC-66", Min: 10, Max: 200},
		{Q: "SQL injection", Must: "CAPEC-66", Min: 1, Max: 30},
		{Q: "CAPEC-66", Must: "CAPEC-66", Min: 1, Max: 20},
		{Q: "66", Must: "CAPEC-66", Min: 1, Max: 20},
		{Q: "phish", Must: "CAPEC-98", Min: 1, Max: 30},
		{Q: "zzqqy"},
		{Q: "", Must: "CAPEC-1", Min: 615, Max: 615},
	})
	sqlitetest.CheckPages(t, sqlitetest.PageList(s.List), "attacker", want("attacker"), 10)
	sqlitetest.CheckBadQ(t, sqlitetest.PageList(s.List), func(err error) bool { return errors.Is(err, ErrBadRequest) })
}

// TestMigrationAddsTextIndex opens a database of the first schema, holding
// part of the real catalog, with the current schema: nothing is lost, the q
// filter works, and a later import keeps the index in step.
func TestMigrationAddsTextIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "capec.db")
	db, err := sqlite.Open(ctx, path, migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	c := catalog(t)
	part := *c
	part.AttackPatterns = c.AttackPatterns[:200]
	old := &Store{db: db, Now: clock()}
	if _, err := old.Import(ctx, &part, "v1", 0); err != nil {
		t.Fatal(err)
	}
	before, _ := old.Meta(ctx)
	old.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if after, _ := s.Meta(ctx); after != before {
		t.Errorf("meta after the migration %+v, before %+v", after, before)
	}
	id := part.AttackPatterns[150].ID
	sqlitetest.CheckFilter(t, sqlitetest.PageList(s.List), wantFrom(part.AttackPatterns), []sqlitetest.FilterCase{
		{Q: "injection", Min: 1, Max: 200}, {Q: "attacker", Min: 1, Max: 200}, {Q: id, Must: id, Min: 1, Max: 200},
	})
	s.Now = clock()
	part.AttackPatterns = c.AttackPatterns[100:400]
	if _, err := s.Import(ctx, &part, "v2", 0); err != nil {
		t.Fatal(err)
	}
	sqlitetest.CheckFilter(t, sqlitetest.PageList(s.List), wantFrom(part.AttackPatterns), []sqlitetest.FilterCase{
		{Q: "injection", Min: 1, Max: 300}, {Q: c.AttackPatterns[50].ID, Max: 300},
	})
}
