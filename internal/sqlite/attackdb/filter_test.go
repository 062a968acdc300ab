package attackdb

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/v2e/v2e/internal/attack"
	"github.com/v2e/v2e/internal/sqlite"
	"github.com/v2e/v2e/internal/sqlite/sqlitetest"
)

// wantFrom is the oracle of a list with q over objects of the catalogs:
// domain order enterprise, mobile, ICS, then id; the objects whose id q names
// (a technique's parent too) or whose name, description and aliases match.
func wantFrom[T any, P objectPtr[T]](cats []*attack.Catalog, objs func(*attack.Catalog) []T, aliases func(P) []string, tech bool) func(q string) []string {
	var entries []sqlitetest.Entry
	for _, c := range cats {
		var d []sqlitetest.Entry
		for _, v := range objs(c) {
			p := P(&v)
			text := p.Base().Name + " " + p.Base().Description
			if aliases != nil {
				text += " " + strings.Join(aliases(p), " ")
			}
			d = append(d, sqlitetest.Entry{ID: p.Base().ID, Words: sqlitetest.Words(text)})
		}
		slices.SortFunc(d, func(a, b sqlitetest.Entry) int { return strings.Compare(a.ID, b.ID) })
		entries = append(entries, d...)
	}
	return func(q string) []string {
		want, err := attack.NormalizeID(q)
		isID := err == nil && strings.ContainsAny(want, "0123456789")
		return sqlitetest.Want(entries, q, func(id string) bool {
			return isID && (id == want || (tech && strings.HasPrefix(id, want+".")))
		})
	}
}

// lister adapts a list method of the store for sqlitetest, with more options.
func lister[T any, P objectPtr[T]](list func(context.Context, attack.ListOptions) ([]T, int, error), o attack.ListOptions) sqlitetest.List {
	return func(q string, offset, limit int) ([]string, int, error) {
		o.Q, o.Offset, o.Limit = q, offset, limit
		objs, total, err := list(context.Background(), o)
		ids := []string{}
		for i := range objs {
			ids = append(ids, P(&objs[i]).Base().ID)
		}
		return ids, total, err
	}
}

func techniques(c *attack.Catalog) []attack.Technique { return c.Techniques }

func listFilter(t *testing.T, s *Store) {
	cats := []*attack.Catalog{catalog(t, enterprise18), catalog(t, mobile18), catalog(t, ics18)}
	want := wantFrom(cats, techniques, nil, true)
	sqlitetest.CheckFilter(t, lister(s.ListTechniques, attack.ListOptions{}), want, []sqlitetest.FilterCase{
		{Q: "T1059", Must: "T1059.001", Min: 10, Max: 100}, {Q: "t1059.001", Must: "T1059.001", Min: 1, Max: 60},
		{Q: "1059", Must: "T1059.003", Min: 10, Max: 100}, {Q: "phishing", Must: "T1566", Min: 5, Max: 100},
		{Q: "PowerShell", Must: "T1059.001", Min: 2, Max: 100}, {Q: "command and scripting", Must: "T1059", Min: 1, Max: 50},
		{Q: "zzqqx"},
	})
	// With the other filters, and paged.
	ent := wantFrom(cats[:1], techniques, nil, true)
	sqlitetest.CheckPages(t, lister(s.ListTechniques, attack.ListOptions{Domain: "enterprise"}), "credential", ent("credential"), 10)
	exec, total, err := lister(s.ListTechniques, attack.ListOptions{Domain: "enterprise", Tactic: "TA0002"})("T1059", 0, 1000)
	if err != nil || total != len(exec) || !slices.Contains(exec, "T1059") || !slices.Contains(exec, "T1059.001") || slices.Contains(exec, "T1566") {
		t.Errorf("execution techniques q T1059: %v, %v", exec, err)
	}
	// Groups by alias, software, mitigations by id.
	sqlitetest.CheckFilter(t, lister(s.ListGroups, attack.ListOptions{}),
		wantFrom(cats, func(c *attack.Catalog) []attack.Group { return c.Groups }, func(g *attack.Group) []string { return g.Aliases }, false),
		[]sqlitetest.FilterCase{{Q: "fancy bear", Must: "G0007", Min: 1, Max: 10}, {Q: "G0007", Must: "G0007", Min: 1, Max: 50}})
	sqlitetest.CheckFilter(t, lister(s.ListSoftware, attack.ListOptions{}),
		wantFrom(cats, func(c *attack.Catalog) []attack.Software { return c.Software }, func(x *attack.Software) []string { return x.Aliases }, false),
		[]sqlitetest.FilterCase{{Q: "mimikatz", Must: "S0002", Min: 1, Max: 100}})
	sqlitetest.CheckFilter(t, lister(s.ListMitigations, attack.ListOptions{}),
		wantFrom(cats, func(c *attack.Catalog) []attack.Mitigation { return c.Mitigations }, nil, false),
		[]sqlitetest.FilterCase{{Q: "M1049", Must: "M1049", Min: 1, Max: 10}, {Q: "antivirus", Must: "M1049", Min: 1, Max: 30}})
	sqlitetest.CheckBadQ(t, lister(s.ListTactics, attack.ListOptions{}), func(err error) bool { return errors.Is(err, attack.ErrInvalidArgument) })
}

// TestMigrationAddsTextIndex opens a database of the first schema holding
// the real ICS workbook with the current schema: nothing is lost, the q
// filter works, and a later import keeps the index in step.
func TestMigrationAddsTextIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "attack.db")
	db, err := sqlite.Open(ctx, path, Migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{db: db, Now: open(t).Now}
	ics := catalog(t, ics18)
	if _, err := old.Import(ctx, ics); err != nil {
		t.Fatal(err)
	}
	before, _ := old.Counts(ctx, "")
	beforeT, _ := old.GetTechnique(ctx, "T0800", "")
	old.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if after, _ := s.Counts(ctx, ""); after != before {
		t.Errorf("counts after the migration %+v, before %+v", after, before)
	}
	if after, err := s.GetTechnique(ctx, "T0800", ""); err != nil || after.Description != beforeT.Description || after.Name != beforeT.Name {
		t.Errorf("T0800 after the migration: %+v, %v", after, err)
	}
	list := lister(s.ListTechniques, attack.ListOptions{})
	sqlitetest.CheckFilter(t, list, wantFrom([]*attack.Catalog{ics}, techniques, nil, true), []sqlitetest.FilterCase{
		{Q: "firmware", Must: "T0857", Min: 1, Max: 83}, {Q: "T0800", Must: "T0800", Min: 1, Max: 83}, {Q: "modbus", Max: 83},
	})
	if _, err := s.Import(ctx, catalog(t, mobile18)); err != nil {
		t.Fatal(err)
	}
	sqlitetest.CheckFilter(t, list, wantFrom([]*attack.Catalog{catalog(t, mobile18), ics}, techniques, nil, true), []sqlitetest.FilterCase{
		{Q: "firmware", Must: "T0857", Min: 2, Max: 200},
	})
}
