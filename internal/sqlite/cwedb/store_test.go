package cwedb

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/cwe"
	"github.com/v2e/v2e/internal/sqlite"
	"github.com/v2e/v2e/internal/sqlite/sqlitetest"
)

const catalogZip = "../../../assets/cwe/cwec_v4.15.xml.zip"

var (
	catOnce sync.Once
	cat     *cwe.Catalog
	catErr  error
)

func catalog(t testing.TB) *cwe.Catalog {
	t.Helper()
	catOnce.Do(func() { cat, catErr = cwe.ReadFile(catalogZip) })
	if catErr != nil {
		t.Fatal(catErr)
	}
	return cat
}

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "cwe.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	shared    sqlitetest.Shared[*Store]
	sharedRes ImportResult
)

// imported returns a store holding the whole real catalog, shared by the
// tests that only read (parsing and importing it under -race takes seconds).
func imported(t testing.TB) *Store {
	t.Helper()
	c := catalog(t)
	return shared.Get(t, "cwe.db", func(path string) (*Store, error) { return Open(context.Background(), path) },
		func(s *Store) (err error) {
			s.Now = func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }
			sharedRes, err = s.Import(context.Background(), c, "cwec_v4.15.xml.zip")
			return err
		})
}

// subset returns a store holding part of the real catalog: n weaknesses, every
// category and view. Tests that change the store use it.
func subset(t testing.TB, n int) (*Store, *cwe.Catalog) {
	c := catalog(t)
	part := &cwe.Catalog{Name: c.Name, Version: c.Version, Date: c.Date, Weaknesses: c.Weaknesses[:n], Categories: c.Categories, Views: c.Views}
	s := openStore(t)
	if _, err := s.Import(context.Background(), part, "subset"); err != nil {
		t.Fatal(err)
	}
	return s, part
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

func wantMeta(t *testing.T, s *Store, weaknesses, categories, views, links int) {
	t.Helper()
	m, err := s.Meta(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.Weaknesses != weaknesses || m.Categories != categories || m.Views != views || m.CAPECLinks != links {
		t.Fatalf("stored %d weaknesses, %d categories, %d views, %d CAPEC links; want %d, %d, %d, %d",
			m.Weaknesses, m.Categories, m.Views, m.CAPECLinks, weaknesses, categories, views, links)
	}
}

func TestImportFileCounts(t *testing.T) {
	s, res := imported(t), sharedRes
	// Ground truth (data index): 964 weaknesses, 409 categories, 54 views, 1,212 links to CAPEC.
	if res != (ImportResult{Version: "4.15", Weaknesses: 964, Categories: 409, Views: 54, CAPECLinks: 1212}) {
		t.Errorf("import result = %+v", res)
	}
	wantMeta(t, s, 964, 409, 54, 1212)
	m, _ := s.Meta(context.Background())
	if m.Version != "4.15" || m.ReleaseDate != "2024-07-16" || m.Source != "cwec_v4.15.xml.zip" || m.ImportedAt != "2026-11-23T12:00:00Z" {
		t.Errorf("meta = %+v", m)
	}
}

// TestImportFileZip reads a zip holding the start of the real catalog
// (its first 40 weaknesses), the same path as the whole file takes.
func TestImportFileZip(t *testing.T) {
	whole, err := os.ReadFile(catalogZip)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(whole), int64(len(whole)))
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := zr.File[0].Open()
	x, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	end := 0
	for range 40 {
		end += bytes.Index(x[end:], []byte("</Weakness>")) + len("</Weakness>")
	}
	path := filepath.Join(t.TempDir(), "part.xml.zip")
	f, _ := os.Create(path)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("part.xml")
	w.Write(x[:end])
	w.Write([]byte("</Weaknesses></Weakness_Catalog>"))
	zw.Close()
	f.Close()
	s := openStore(t)
	res, err := s.ImportFile(context.Background(), path)
	if err != nil || res.Weaknesses != 40 || res.Version != "4.15" {
		t.Fatalf("ImportFile = %+v, %v", res, err)
	}
	if m, _ := s.Meta(context.Background()); m.Source != "part.xml.zip" || m.Weaknesses != 40 {
		t.Errorf("meta = %+v", m)
	}
}

func TestGetAndList(t *testing.T) {
	ctx := context.Background()
	s := imported(t)
	a, err := s.Get(ctx, "CWE-79")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Get(ctx, "79")
	if string(a) != string(b) {
		t.Error(`Get("CWE-79") and Get("79") differ`)
	}
	var w cwe.Weakness
	if err := json.Unmarshal(a, &w); err != nil || w.ID != "CWE-79" || len(w.PotentialMitigations) == 0 || len(w.ObservedExamples) == 0 {
		t.Errorf("CWE-79 = %+v, %v", w, err)
	}
	if !strings.Contains(string(a), `"related_weaknesses":[{"nature":"ChildOf","cwe_id":"CWE-74","view_id":"CWE-1000","ordinal":"Primary"}`) {
		t.Errorf("CWE-79 JSON lacks snake_case related weaknesses: %.300s", a)
	}
	c, err := s.Get(ctx, "CWE-1009")
	if err != nil || !strings.Contains(string(c), `"kind":"category"`) {
		t.Errorf("category CWE-1009: %.100s, %v", c, err)
	}
	if _, err := s.Get(ctx, "CWE-999999"); !errors.Is(err, cwe.ErrNotFound) || !strings.Contains(err.Error(), "CWE-999999") {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := s.Get(ctx, "CAPEC-1"); !errors.Is(err, cwe.ErrInvalidID) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := s.Weakness(ctx, "CWE-1009"); !errors.Is(err, cwe.ErrNotFound) {
		t.Errorf("Weakness(category): %v", err)
	}

	tests := []struct {
		offset, limit, wantOffset, wantLimit, wantItems int
	}{
		{0, 0, 0, 100, 100}, {900, 1000, 900, 1000, 64}, {0, 5000, 0, 1000, 964}, {964, 10, 964, 10, 0},
	}
	for _, tc := range tests {
		p, err := s.List(ctx, sqlite.ListQuery{Offset: tc.offset, Limit: tc.limit})
		if err != nil || p.Total != 964 || p.Offset != tc.wantOffset || p.Limit != tc.wantLimit || len(p.Items) != tc.wantItems {
			t.Errorf("List(%d, %d) = total %d offset %d limit %d items %d, %v", tc.offset, tc.limit, p.Total, p.Offset, p.Limit, len(p.Items), err)
		}
	}
	p, _ := s.List(ctx, sqlite.ListQuery{Offset: 0, Limit: 1})
	var sum Summary
	if err := json.Unmarshal(p.Items[0], &sum); err != nil || sum.ID != "CWE-5" || sum.Abstraction == "" || sum.Description == "" {
		t.Errorf("first summary = %+v, %v", sum, err)
	}
	if _, err := s.List(ctx, sqlite.ListQuery{Offset: -1, Limit: 10}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("negative offset: %v", err)
	}
}

func TestRelationships(t *testing.T) {
	ctx := context.Background()
	s := imported(t)
	rs, err := s.Relationships(ctx, "CWE-79", "")
	if err != nil {
		t.Fatal(err)
	}
	want := Relationship{CWEID: "CWE-79", Nature: "ChildOf", RelatedID: "CWE-74", ViewID: "CWE-1000", Ordinal: "Primary",
		RelatedName: "Improper Neutralization of Special Elements in Output Used by a Downstream Component ('Injection')"}
	if !slices.Contains(rs, want) {
		t.Errorf("CWE-79 relationships lack %+v: %+v", want, rs)
	}
	parents, err := s.Relationships(ctx, "74", "parentof")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(parents, func(r Relationship) bool { return r.RelatedID == "CWE-79" && r.Inferred && r.ViewID == "CWE-1000" }) {
		t.Errorf("CWE-74 ParentOf lacks CWE-79: %+v", parents)
	}
	for _, r := range parents {
		if r.Nature != "ParentOf" {
			t.Errorf("filter ParentOf returned %+v", r)
		}
	}
	member, _ := s.Relationships(ctx, "CWE-117", "MemberOf")
	if !slices.ContainsFunc(member, func(r Relationship) bool { return r.RelatedID == "CWE-1009" && r.RelatedName == "Audit" }) {
		t.Errorf("CWE-117 MemberOf lacks category CWE-1009: %+v", member)
	}
	views, _ := s.Relationships(ctx, "CWE-20", "memberof")
	if !slices.ContainsFunc(views, func(r Relationship) bool { return r.RelatedID == "CWE-1003" && r.ViewID == "CWE-1003" }) {
		t.Errorf("CWE-20 MemberOf lacks view CWE-1003: %+v", views)
	}
	if members, _ := s.Relationships(ctx, "CWE-1003", "HasMember"); len(members) < 30 || members[0].Inferred {
		t.Errorf("view CWE-1003 HasMember: %d, %+v", len(members), members)
	}
	if _, err := s.Relationships(ctx, "CWE-79", "Sibling"); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "relationship_type") {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := s.Relationships(ctx, "CWE-999999", ""); !errors.Is(err, cwe.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestCAPECLinks(t *testing.T) {
	ctx := context.Background()
	s := imported(t)
	got, err := s.CAPECsForCWE(ctx, "CWE-79")
	if want := []string{"CAPEC-63", "CAPEC-85", "CAPEC-209", "CAPEC-588", "CAPEC-591", "CAPEC-592"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("CAPECsForCWE(CWE-79) = %v, %v; want %v", got, err, want)
	}
	back, err := s.CWEsForCAPEC(ctx, "63")
	if err != nil || !slices.Contains(back, "CWE-79") {
		t.Errorf("CWEsForCAPEC(63) = %v, %v", back, err)
	}
	if none, err := s.CAPECsForCWE(ctx, "CWE-999999"); err != nil || len(none) != 0 {
		t.Errorf("unknown weakness: %v, %v", none, err)
	}
}

func TestFailedImportKeepsCatalog(t *testing.T) {
	ctx := context.Background()
	s, part := subset(t, 50)
	dir := t.TempDir()
	whole, _ := os.ReadFile(catalogZip)
	cut := filepath.Join(dir, "cut.zip")
	os.WriteFile(cut, whole[:len(whole)-100], 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"ID": "79", "Name": "x"`), 0o644)
	for _, p := range []string{cut, bad} {
		if _, err := s.ImportFile(ctx, p); !errors.Is(err, cwe.ErrMalformed) {
			t.Errorf("import %s: %v, want ErrMalformed", filepath.Base(p), err)
		}
	}
	// A catalog that parses but fails while being written (a duplicate id)
	// is rolled back whole.
	dup := &cwe.Catalog{Version: "dup", Weaknesses: append(slices.Clone(catalog(t).Weaknesses[:10]), catalog(t).Weaknesses[0])}
	if _, err := s.Import(ctx, dup, "dup"); err == nil || !strings.Contains(err.Error(), catalog(t).Weaknesses[0].ID) {
		t.Errorf("duplicate import: %v", err)
	}
	wantMeta(t, s, 50, 409, 54, (&cwe.Catalog{Weaknesses: part.Weaknesses}).CAPECLinks())
	if m, _ := s.Meta(ctx); m.Version != "4.15" {
		t.Errorf("version after failed imports = %q", m.Version)
	}
}

func TestJSONImportKeepsCategoriesAndViews(t *testing.T) {
	ctx := context.Background()
	s, _ := subset(t, 300)
	path := filepath.Join(t.TempDir(), "cwe-raw.json")
	f, _ := os.Create(path)
	if err := cwe.WriteJSON(f, catalog(t).Weaknesses[:100]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Readers during the import see the old or the new catalog, never a mix.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			p, err := s.List(ctx, sqlite.ListQuery{Offset: 0, Limit: 1})
			if err != nil || (p.Total != 300 && p.Total != 100) {
				t.Errorf("reader during import: total %d, %v", p.Total, err)
				return
			}
		}
	}()
	res, err := s.ImportFile(ctx, path)
	close(stop)
	wg.Wait()
	if err != nil || res.Weaknesses != 100 {
		t.Fatalf("JSON import: %+v, %v", res, err)
	}
	links := 0
	for _, w := range catalog(t).Weaknesses[:100] {
		links += len(w.RelatedAttackPatterns)
	}
	wantMeta(t, s, 100, 409, 54, links)
}

func TestViews(t *testing.T) {
	ctx := context.Background()
	s, _ := subset(t, 1)
	raw, err := s.View(ctx, "CWE-1003")
	if err != nil {
		t.Fatal(err)
	}
	var v cwe.View
	if err := json.Unmarshal(raw, &v); err != nil || v.Name != "Weaknesses for Simplified Mapping of Published Vulnerabilities" {
		t.Fatalf("view 1003 = %+v, %v", v, err)
	}
	members := func() int {
		var n int
		s.db.Reader().QueryRow(`SELECT count(*) FROM relationships WHERE origin = 'view' AND source_id = 1003`).Scan(&n)
		return n
	}
	if n := members(); n != len(v.Members) || n == 0 {
		t.Fatalf("view 1003 has %d member edges, want %d", n, len(v.Members))
	}
	if err := s.DeleteView(ctx, "1003"); err != nil {
		t.Fatal(err)
	}
	if n := members(); n != 0 {
		t.Errorf("deleted view keeps %d member edges", n)
	}
	if _, err := s.View(ctx, "1003"); !errors.Is(err, cwe.ErrNotFound) {
		t.Errorf("deleted view: %v", err)
	}
	if err := s.DeleteView(ctx, "1003"); !errors.Is(err, cwe.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	p, _ := s.ListViews(ctx, sqlite.ListQuery{Offset: 0, Limit: 0})
	if p.Total != 53 || len(p.Items) != 53 {
		t.Errorf("views after delete: %d", p.Total)
	}
	v.ID = "1003" // clients may send the bare number
	id, err := s.SaveView(ctx, &v)
	if err != nil || id != "CWE-1003" {
		t.Fatalf("SaveView = %q, %v", id, err)
	}
	again, _ := s.View(ctx, "CWE-1003")
	if string(again) != string(raw) {
		t.Errorf("saved view differs:\n%.200s\n%.200s", again, raw)
	}
	if n := members(); n != len(v.Members) {
		t.Errorf("saved view has %d member edges, want %d", n, len(v.Members))
	}
	bad := v
	bad.Name = ""
	if _, err := s.SaveView(ctx, &bad); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "Name is empty") {
		t.Errorf("view without name: %v", err)
	}
	p, _ = s.ListViews(ctx, sqlite.ListQuery{Offset: 50, Limit: 2})
	if p.Total != 54 || len(p.Items) != 2 {
		t.Errorf("ListViews(50, 2): total %d, %d items", p.Total, len(p.Items))
	}
	// A catalog import replaces the catalog's views and keeps the saved one,
	// with its member edges once, not twice.
	if _, err := s.Import(ctx, &cwe.Catalog{Weaknesses: catalog(t).Weaknesses[:1], Views: catalog(t).Views[:1]}, "views"); err != nil {
		t.Fatal(err)
	}
	if p, _ = s.ListViews(ctx, sqlite.ListQuery{Offset: 0, Limit: 0}); p.Total != 2 {
		t.Errorf("after an import of one catalog view: %d views, want it and the saved one", p.Total)
	}
	if n := members(); n != len(v.Members) {
		t.Errorf("after a catalog import the saved view has %d member edges, want %d", n, len(v.Members))
	}
}
