package cwedb

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/cwe"
	"github.com/v2e/v2e/internal/sqlite"
	"github.com/v2e/v2e/internal/sqlite/sqlitetest"
)

// weaknessEntries is what the q filter searches in each weakness, in id
// order (the lists' order; the catalog's is another).
func weaknessEntries(ws []cwe.Weakness) []sqlitetest.Entry {
	out := make([]sqlitetest.Entry, len(ws))
	for i, w := range ws {
		out[i] = sqlitetest.Entry{ID: w.ID, Words: sqlitetest.Words(w.Name + " " + string(w.Description))}
	}
	slices.SortFunc(out, func(a, b sqlitetest.Entry) int { x, _ := cwe.ParseID(a.ID); y, _ := cwe.ParseID(b.ID); return x - y })
	return out
}

// sameCWE tells whether an id is what q names, in any accepted form.
func sameCWE(q string) func(string) bool {
	n, err := cwe.ParseID(q)
	return func(id string) bool { m, _ := cwe.ParseID(id); return err == nil && m == n }
}

// wantFrom returns the oracle of a list of weaknesses.
func wantFrom(ws []cwe.Weakness) func(q string) []string {
	entries := weaknessEntries(ws)
	return func(q string) []string { return sqlitetest.Want(entries, q, sameCWE(q)) }
}

func TestListFilter(t *testing.T) {
	s := imported(t)
	want := wantFrom(catalog(t).Weaknesses)
	sqlitetest.CheckFilter(t, sqlitetest.PageList(s.List), want, []sqlitetest.FilterCase{
		{Q: "injection", Must: "CWE-89", Min: 10, Max: 200},
		{Q: "INJECTION", Must: "CWE-77", Min: 10, Max: 200},
		{Q: "inject", Must: "CWE-94", Min: 10, Max: 200},
		{Q: "SQL Command", Must: "CWE-89", Min: 1, Max: 20},
		{Q: "cross-site scripting", Must: "CWE-79", Min: 1, Max: 30},
		{Q: "CWE-79", Must: "CWE-79", Min: 1, Max: 30},
		{Q: "79", Must: "CWE-79", Min: 1, Max: 30},
		{Q: "  buffer   overflow ", Must: "CWE-120", Min: 1, Max: 100},
		{Q: "xyzzy-not-a-word"},
		{Q: `"OR" NOT * (`, Max: 964},                 // FTS5 syntax is plain text
		{Q: "---", Must: "CWE-5", Min: 964, Max: 964}, // no word: every weakness
	})
	sqlitetest.CheckPages(t, sqlitetest.PageList(s.List), "input", want("input"), 7)
	sqlitetest.CheckBadQ(t, sqlitetest.PageList(s.List), func(err error) bool { return errors.Is(err, ErrBadRequest) })
	sqlitetest.CheckBadQ(t, sqlitetest.PageList(s.ListViews), func(err error) bool { return errors.Is(err, ErrBadRequest) })
}

func TestListViewsFilter(t *testing.T) {
	ctx := context.Background()
	s, part := subset(t, 1)
	var entries []sqlitetest.Entry
	for _, v := range part.Views {
		entries = append(entries, sqlitetest.Entry{ID: v.ID, Words: sqlitetest.Words(v.Name + " " + string(v.Objective))})
	}
	slices.SortFunc(entries, func(a, b sqlitetest.Entry) int { x, _ := cwe.ParseID(a.ID); y, _ := cwe.ParseID(b.ID); return x - y })
	want := func(q string) []string { return sqlitetest.Want(entries, q, sameCWE(q)) }
	sqlitetest.CheckFilter(t, sqlitetest.PageList(s.ListViews), want, []sqlitetest.FilterCase{
		{Q: "simplified mapping", Must: "CWE-1003", Min: 1, Max: 5},
		{Q: "CWE-1003", Must: "CWE-1003", Min: 1, Max: 5},
		{Q: "1000", Must: "CWE-1000", Min: 1, Max: 5},
	})
	// A view saved again (an upsert) is found by its new name only; a
	// deleted one is not found.
	v := part.Views[0]
	for _, pv := range part.Views {
		if pv.ID == "CWE-1003" {
			v = pv
		}
	}
	v.Name = "Renamed quokka view"
	if _, err := s.SaveView(ctx, &v); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		_, total, err := sqlitetest.PageList(s.ListViews)(q, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	if count("quokka") != 1 || count("simplified mapping") != 0 {
		t.Errorf("after renaming: quokka %d, simplified mapping %d; want 1, 0", count("quokka"), count("simplified mapping"))
	}
	if err := s.DeleteView(ctx, "CWE-1003"); err != nil {
		t.Fatal(err)
	}
	if count("quokka") != 0 {
		t.Error("a deleted view is still found")
	}
}

// TestMigrationAddsTextIndex opens a database written by the first schema
// (before the text indexes) with the current one: nothing is lost, the q
// filter finds what it holds, and a later import keeps the index in step.
func TestMigrationAddsTextIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cwe.db")
	db, err := sqlite.Open(ctx, path, migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{db: db, Now: func() time.Time { return time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC) }}
	c := catalog(t)
	part := &cwe.Catalog{Name: c.Name, Version: c.Version, Date: c.Date, Weaknesses: c.Weaknesses[:120], Categories: c.Categories, Views: c.Views}
	if _, err := old.Import(ctx, part, "v1"); err != nil {
		t.Fatal(err)
	}
	before, _ := old.Meta(ctx)
	someID := part.Weaknesses[100].ID
	raw, _ := old.Get(ctx, someID)
	old.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version int
	if err := s.db.Reader().QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("user_version %d, %v; want %d", version, err, len(migrations))
	}
	if after, _ := s.Meta(ctx); after != before {
		t.Errorf("meta after the migration %+v, before %+v", after, before)
	}
	if again, _ := s.Get(ctx, someID); string(again) != string(raw) {
		t.Errorf("%s changed in the migration", someID)
	}
	sqlitetest.CheckFilter(t, sqlitetest.PageList(s.List), wantFrom(part.Weaknesses), []sqlitetest.FilterCase{
		{Q: "file", Min: 1, Max: 120}, {Q: "input", Min: 1, Max: 120}, {Q: someID, Must: someID, Min: 1, Max: 120},
	})
	if _, total, _ := sqlitetest.PageList(s.ListViews)("simplified mapping", 0, 10); total != 1 {
		t.Errorf("migrated views, q simplified mapping: %d", total)
	}
	// Weaknesses only (as the JSON form): categories and views stay.
	part = &cwe.Catalog{Weaknesses: c.Weaknesses[60:240]}
	if _, err := s.Import(ctx, part, "v2"); err != nil {
		t.Fatal(err)
	}
	sqlitetest.CheckFilter(t, sqlitetest.PageList(s.List), wantFrom(part.Weaknesses), []sqlitetest.FilterCase{
		{Q: "buffer", Min: 1, Max: 180}, {Q: c.Weaknesses[10].ID, Max: 180}, {Q: part.Weaknesses[150].ID, Must: part.Weaknesses[150].ID, Min: 1, Max: 180},
	})
	if _, total, _ := sqlitetest.PageList(s.ListViews)("simplified mapping", 0, 10); total != 1 {
		t.Errorf("after a weaknesses-only import, q simplified mapping finds %d views", total)
	}
}
