package attackdb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/attack"
	"github.com/v2e/v2e/internal/attack/xlsx"
)

const (
	assetsDir    = "../../../assets/attack"
	enterprise18 = assetsDir + "/enterprise-attack-v18.1.xlsx"
	mobile18     = assetsDir + "/mobile-attack-v18.1.xlsx"
	ics18        = assetsDir + "/ics-attack-v18.1.xlsx"
	enterprise14 = "../../../testdata/attack/enterprise-attack-v14.1.xlsx"
)

var catalogs struct {
	once sync.Once
	err  error
	m    map[string]*attack.Catalog
}

// catalog loads each real workbook once per test binary.
func catalog(t testing.TB, path string) *attack.Catalog {
	t.Helper()
	catalogs.once.Do(func() {
		catalogs.m = map[string]*attack.Catalog{}
		paths := []string{enterprise18, mobile18, ics18, enterprise14}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range paths {
			wg.Go(func() {
				c, err := xlsx.Load(p)
				mu.Lock()
				defer mu.Unlock()
				catalogs.m[p], catalogs.err = c, errors.Join(catalogs.err, err)
			})
		}
		wg.Wait()
	})
	if catalogs.err != nil {
		t.Fatal(catalogs.err)
	}
	return catalogs.m[path]
}

func open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "attack.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	v14Counts = attack.Counts{Techniques: 625, Subtechniques: 424, Tactics: 14, Software: 648, Groups: 141,
		Mitigations: 43, Campaigns: 23, Relationships: 16638}
	v18Counts = map[attack.Domain]attack.Counts{
		attack.Enterprise: {Techniques: 691, Subtechniques: 475, Tactics: 14, Software: 784, Groups: 172,
			Mitigations: 44, Campaigns: 52, Relationships: 19431},
		attack.Mobile: {Techniques: 124, Subtechniques: 47, Tactics: 12, Software: 122, Groups: 17,
			Mitigations: 13, Campaigns: 3, Relationships: 1712},
		attack.ICS: {Techniques: 83, Tactics: 12, Software: 23, Groups: 14, Mitigations: 52, Campaigns: 7,
			Assets: 18, Relationships: 1371},
	}
)

func wantCounts(t *testing.T, s *Store, d attack.Domain, want attack.Counts) {
	t.Helper()
	got, err := s.Counts(context.Background(), string(d))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s stored counts = %+v\nwant               %+v", d, got, want)
	}
}

// TestImportLifecycle imports v14.1 enterprise, checks that failed imports
// leave it whole, imports v18.1 (three domains) over it, then queries it.
func TestImportLifecycle(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	day := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return day }
	if _, err := s.Import(ctx, catalog(t, enterprise14)); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, s, attack.Enterprise, v14Counts)

	t.Run("truncated workbook", func(t *testing.T) { truncatedWorkbook(t, s) })
	t.Run("failure inside the transaction", func(t *testing.T) { failInTx(t, s) })

	day = day.Add(24 * time.Hour)
	res, err := s.Import(ctx, catalog(t, enterprise18), catalog(t, mobile18), catalog(t, ics18))
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range v18Counts {
		wantCounts(t, s, d, want)
	}
	if want := 691 + 14 + 784 + 172 + 44 + 52 + 124 + 12 + 122 + 17 + 13 + 3 + 83 + 12 + 23 + 14 + 52 + 7 + 18; res.Count != want {
		t.Errorf("import count = %d, want %d", res.Count, want)
	}
	t.Run("reimport marks removed", func(t *testing.T) { reimported(t, s, res) })
	t.Run("same version again", func(t *testing.T) { sameAgain(t, s) })
	t.Run("metadata", func(t *testing.T) { metadata(t, s) })
	t.Run("get by id", func(t *testing.T) { getByID(t, s) })
	t.Run("list", func(t *testing.T) { listPages(t, s) })
	t.Run("list filter", func(t *testing.T) { listFilter(t, s) })
	t.Run("technique links", func(t *testing.T) { techniqueLinks(t, s) })
	t.Run("techniques of", func(t *testing.T) { techniquesOf(t, s) })
	t.Run("matrix", func(t *testing.T) { matrix(t, s) })
}

// truncatedWorkbook writes half of a real workbook to a temporary file: the
// load fails naming it and the store keeps v14.1.
func truncatedWorkbook(t *testing.T, s *Store) {
	data, err := os.ReadFile(mobile18)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "mobile-attack-v18.1.xlsx")
	if err := os.WriteFile(path, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	cats, err := xlsx.LoadPath(dir)
	if !errors.Is(err, attack.ErrWorkbook) || cats != nil {
		t.Fatalf("LoadPath of a truncated workbook = %v, %v", cats, err)
	}
	if _, err := s.Import(context.Background(), cats...); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, s, attack.Enterprise, v14Counts)
	wantCounts(t, s, attack.Mobile, attack.Counts{})
}

// failInTx imports mobile then an ICS catalog whose last relationship
// breaks a constraint: nothing of either is kept.
func failInTx(t *testing.T, s *Store) {
	bad := *catalog(t, ics18)
	bad.Relationships = slices.Clone(bad.Relationships)
	last := &bad.Relationships[len(bad.Relationships)-1]
	last.STIXID = ""
	_, err := s.Import(context.Background(), catalog(t, mobile18), &bad)
	if err == nil {
		t.Fatal("import of a catalog with an empty relationship STIX id succeeded")
	}
	wantCounts(t, s, attack.Enterprise, v14Counts)
	wantCounts(t, s, attack.Mobile, attack.Counts{})
	wantCounts(t, s, attack.ICS, attack.Counts{})
	m, err := s.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Domains) != 1 || m.Domains[0].Version != "14.1" {
		t.Errorf("metadata after a failed import = %+v", m.Domains)
	}
}

// reimported checks the v14.1 → v18.1 difference, computed from the two
// catalogs, against what the store marked.
func reimported(t *testing.T, s *Store, res attack.ImportResult) {
	ctx := context.Background()
	old, cur := catalog(t, enterprise14), catalog(t, enterprise18)
	inNew := map[string]bool{}
	for _, te := range cur.Techniques {
		inNew[te.ID] = true
	}
	var gone []string
	for _, te := range old.Techniques {
		if !inNew[te.ID] {
			gone = append(gone, te.ID)
		}
	}
	if len(gone) == 0 {
		t.Fatal("v18.1 has every v14.1 technique: the test data changed")
	}
	if res.Domains[0].Domain != attack.Enterprise || res.Domains[0].Removed.Techniques != len(gone) {
		t.Errorf("removed = %+v, want %d techniques", res.Domains[0], len(gone))
	}
	te, err := s.GetTechnique(ctx, gone[0], "")
	if err != nil {
		t.Fatal(err)
	}
	if te.Present || te.RemovedIn != "18.1" || te.AddedIn != "14.1" {
		t.Errorf("%s present %v removed_in %q added_in %q", te.ID, te.Present, te.RemovedIn, te.AddedIn)
	}
	all, total, err := s.ListTechniques(ctx, attack.ListOptions{Domain: "enterprise", IncludeRemoved: true, Limit: attack.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if total != 691+len(gone) || len(all) != total {
		t.Errorf("with removed: %d listed, total %d, want %d", len(all), total, 691+len(gone))
	}
	t1548, err := s.GetTechnique(ctx, "T1548", "enterprise")
	if err != nil {
		t.Fatal(err)
	}
	if !t1548.Present || t1548.AddedIn != "14.1" || t1548.Version != "1.5" || t1548.Modified != "2025-10-24" {
		t.Errorf("T1548 after reimport = %+v", t1548.Object)
	}
}

// sameAgain imports the ICS catalog a second time: nothing is removed or
// added, and the metadata records the second import.
func sameAgain(t *testing.T, s *Store) {
	res, err := s.Import(context.Background(), catalog(t, ics18))
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Domains[0]; d.Removed != (attack.Counts{}) || d.Counts != v18Counts[attack.ICS] {
		t.Errorf("second ICS import: %+v", d)
	}
	wantCounts(t, s, attack.ICS, v18Counts[attack.ICS])
}

func metadata(t *testing.T, s *Store) {
	m, err := s.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.ImportDate != "2026-11-24T10:00:00Z" || len(m.Domains) != 3 {
		t.Fatalf("metadata = %+v", m)
	}
	for _, d := range m.Domains {
		if d.Version != "18.1" || d.Counts != v18Counts[d.Domain] {
			t.Errorf("%s: version %s counts %+v", d.Domain, d.Version, d.Counts)
		}
	}
	// Totals count distinct ids: groups and software shared by domains once.
	ids := map[attack.Kind]map[string]bool{attack.KindGroup: {}, attack.KindTechnique: {}}
	for _, p := range []string{enterprise18, mobile18, ics18} {
		c := catalog(t, p)
		for _, g := range c.Groups {
			ids[attack.KindGroup][g.ID] = true
		}
		for _, te := range c.Techniques {
			ids[attack.KindTechnique][te.ID] = true
		}
	}
	if m.TotalGroups != len(ids[attack.KindGroup]) || m.TotalTechniques != len(ids[attack.KindTechnique]) {
		t.Errorf("totals groups %d techniques %d, want %d and %d", m.TotalGroups, m.TotalTechniques,
			len(ids[attack.KindGroup]), len(ids[attack.KindTechnique]))
	}
	if m.TotalTactics != 14+12+12 || m.TotalAssets != 18 {
		t.Errorf("totals tactics %d assets %d", m.TotalTactics, m.TotalAssets)
	}
}

func getByID(t *testing.T, s *Store) {
	ctx := context.Background()
	tests := []struct {
		get     func() (attack.Object, error)
		id      string
		domain  attack.Domain
		wantErr error
	}{
		{func() (attack.Object, error) { g, err := s.GetGroup(ctx, "G1028", ""); return g.Object, err }, "G1028", attack.Enterprise, nil},
		{func() (attack.Object, error) { g, err := s.GetGroup(ctx, "g1028", "mobile"); return g.Object, err }, "G1028", attack.Mobile, nil},
		{func() (attack.Object, error) { te, err := s.GetTechnique(ctx, "T1422.002", ""); return te.Object, err }, "T1422.002", attack.Mobile, nil},
		{func() (attack.Object, error) { te, err := s.GetTechnique(ctx, "1059.001", ""); return te.Object, err }, "T1059.001", attack.Enterprise, nil},
		{func() (attack.Object, error) { ta, err := s.GetTactic(ctx, "TA0108", ""); return ta.Object, err }, "TA0108", attack.ICS, nil},
		{func() (attack.Object, error) {
			m, err := s.GetMitigation(ctx, "M1036", "enterprise-attack")
			return m.Object, err
		}, "M1036", attack.Enterprise, nil},
		{func() (attack.Object, error) { sw, err := s.GetSoftware(ctx, "S0366", "ics"); return sw.Object, err }, "S0366", attack.ICS, nil},
		{func() (attack.Object, error) { c, err := s.GetCampaign(ctx, "C0028", "ics"); return c.Object, err }, "C0028", attack.ICS, nil},
		{func() (attack.Object, error) { a, err := s.GetAsset(ctx, "A0001", ""); return a.Object, err }, "A0001", attack.ICS, nil},
		{func() (attack.Object, error) { te, err := s.GetTechnique(ctx, "T9999", ""); return te.Object, err }, "", "", attack.ErrNotFound},
		{func() (attack.Object, error) {
			te, err := s.GetTechnique(ctx, "T1422.002", "ics")
			return te.Object, err
		}, "", "", attack.ErrNotFound},
		{func() (attack.Object, error) { g, err := s.GetGroup(ctx, "T1059", ""); return g.Object, err }, "", "", attack.ErrNotFound},
		{func() (attack.Object, error) { te, err := s.GetTechnique(ctx, "T1059", "pre"); return te.Object, err }, "", "", attack.ErrInvalidArgument},
		{func() (attack.Object, error) { te, err := s.GetTechnique(ctx, " ", ""); return te.Object, err }, "", "", attack.ErrInvalidArgument},
	}
	for i, tt := range tests {
		o, err := tt.get()
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("case %d: err = %v, want %v", i, err, tt.wantErr)
			}
			continue
		}
		if err != nil || o.ID != tt.id || o.Domain != tt.domain || !o.Present || o.Name == "" {
			t.Errorf("case %d: got %s in %s (present %v), err %v; want %s in %s", i, o.ID, o.Domain, o.Present, err, tt.id, tt.domain)
		}
	}
}

func listPages(t *testing.T, s *Store) {
	ctx := context.Background()
	// Expected order: enterprise, mobile, ICS, each by id, from the catalogs.
	var ids []string
	for _, p := range []string{enterprise18, mobile18, ics18} {
		var d []string
		for _, te := range catalog(t, p).Techniques {
			d = append(d, te.ID)
		}
		slices.Sort(d)
		ids = append(ids, d...)
	}
	tests := []struct {
		opts      attack.ListOptions
		wantLen   int
		wantTotal int
		first     string
	}{
		{attack.ListOptions{}, 100, 898, ids[0]},
		{attack.ListOptions{Domain: "mobile", Offset: 120}, 4, 124, ids[691+120]},
		{attack.ListOptions{Domain: "ics", Limit: 5000}, 83, 83, ids[691+124]},
		{attack.ListOptions{Offset: 691, Limit: 150}, 150, 898, ids[691]},
		{attack.ListOptions{Offset: 10000}, 0, 898, ""},
	}
	for _, tt := range tests {
		got, total, err := s.ListTechniques(ctx, tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.wantLen || total != tt.wantTotal || (tt.first != "" && got[0].ID != tt.first) {
			first := ""
			if len(got) > 0 {
				first = got[0].ID
			}
			t.Errorf("%+v: %d items from %s, total %d; want %d from %s, total %d", tt.opts, len(got), first, total, tt.wantLen, tt.first, tt.wantTotal)
		}
	}
	// Techniques of one tactic, counted from the catalog.
	wantExec := 0
	for _, te := range catalog(t, enterprise18).Techniques {
		if slices.Contains(te.TacticIDs, "TA0002") {
			wantExec++
		}
	}
	exec, total, err := s.ListTechniques(ctx, attack.ListOptions{Domain: "enterprise", Tactic: "ta0002", Limit: attack.MaxLimit})
	if err != nil || total != wantExec || len(exec) != wantExec || !slices.Contains(exec[0].TacticIDs, "TA0002") {
		t.Errorf("Execution techniques: %d of %d, err %v; want %d", len(exec), total, err, wantExec)
	}
	if _, _, err := s.ListGroups(ctx, attack.ListOptions{Tactic: "TA0002"}); !errors.Is(err, attack.ErrInvalidArgument) {
		t.Errorf("groups by tactic: err = %v", err)
	}
	if _, _, err := s.ListGroups(ctx, attack.ListOptions{Offset: -1}); !errors.Is(err, attack.ErrInvalidArgument) {
		t.Errorf("negative offset: err = %v", err)
	}
	sw, total, err := s.ListSoftware(ctx, attack.ListOptions{Domain: "enterprise", Limit: attack.MaxLimit})
	if err != nil || total != 784 || len(sw) != 784 {
		t.Errorf("software: %d of %d, err %v", len(sw), total, err)
	}
	if g, total, err := s.ListGroups(ctx, attack.ListOptions{}); err != nil || total != 172+17+14 || len(g) != 100 {
		t.Errorf("groups: %d of %d, err %v", len(g), total, err)
	}
	if m, total, err := s.ListMitigations(ctx, attack.ListOptions{Domain: "ics"}); err != nil || total != 52 || len(m) != 52 {
		t.Errorf("ICS mitigations: %d of %d, err %v", len(m), total, err)
	}
	if ta, total, err := s.ListTactics(ctx, attack.ListOptions{Domain: "mobile"}); err != nil || total != 12 || len(ta) != 12 {
		t.Errorf("mobile tactics: %d of %d, err %v", len(ta), total, err)
	}
}
