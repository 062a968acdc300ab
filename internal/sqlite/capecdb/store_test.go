package capecdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/capec"
	"github.com/v2e/v2e/internal/sqlite"
	"github.com/v2e/v2e/internal/sqlite/sqlitetest"
)

const (
	catalogPath = "../../../assets/capec/capec_contents_latest.xml"
	schemaPath  = "../../../assets/capec/capec_schema_latest.xsd"
)

var (
	shared    sqlitetest.Shared[*Store]
	sharedRes ImportResult
)

// clock returns a Now that moves one minute per call.
func clock() func() time.Time {
	t := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Minute); return t }
}

// imported returns a store into which the real catalog was imported with
// strict validation, shared by the tests that only read.
func imported(t testing.TB) *Store {
	t.Helper()
	return shared.Get(t, "capec.db", func(path string) (*Store, error) { return Open(context.Background(), path) },
		func(s *Store) (err error) {
			s.Now = clock()
			sharedRes, err = s.ImportFile(context.Background(), catalogPath, ImportOptions{XSDPath: schemaPath, Strict: true})
			return err
		})
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "capec.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Now = clock()
	t.Cleanup(func() { s.Close() })
	return s
}

// fragmentFile writes the real catalog cut after n attack patterns (and
// closed), with edit applied, and returns its path.
func fragmentFile(t *testing.T, n int, edit func(string) string) string {
	doc, err := os.ReadFile(catalogPath)
	if err != nil {
		t.Fatal(err)
	}
	end := 0
	for range n {
		end += bytes.Index(doc[end:], []byte("</Attack_Pattern>")) + len("</Attack_Pattern>")
	}
	s := edit(string(doc[:end]) + "\n   </Attack_Patterns>\n</Attack_Pattern_Catalog>\n")
	p := filepath.Join(t.TempDir(), "part.xml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func same(s string) string { return s }

func TestImportCounts(t *testing.T) {
	s := imported(t)
	// Ground truth (data index): 615 Attack_Pattern, 78 Category, 13 View in CAPEC 3.9 of 2023-01-24.
	r := sharedRes
	if r.Version != "3.9" || r.ReleaseDate != "2023-01-24" || r.AttackPatterns != 615 || r.Categories != 78 || r.Views != 13 ||
		r.Skipped || len(r.Warnings) != 0 {
		t.Errorf("import result = %+v", r)
	}
	// Distinct pairs, counted from the parsed file independently of the store.
	f, _ := os.Open(catalogPath)
	defer f.Close()
	c, err := capec.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	cweLinks, attackLinks := map[string]bool{}, map[string]bool{}
	for _, a := range c.AttackPatterns {
		for _, w := range a.RelatedWeaknesses {
			cweLinks[a.ID+string(w)] = true
		}
		for _, m := range a.TaxonomyMappings {
			if m.TaxonomyName == "ATTACK" {
				attackLinks[a.ID+"T"+m.EntryID] = true
			}
		}
	}
	m, err := s.Meta(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Meta{Version: "3.9", ReleaseDate: "2023-01-24", TotalCount: 615, Name: "CAPEC", Source: "capec_contents_latest.xml",
		ImportedAt: m.ImportedAt, Categories: 78, Views: 13, CWELinks: len(cweLinks), AttackLinks: len(attackLinks)}
	if m != want || m.ImportedAt == "" {
		t.Errorf("meta = %+v\nwant %+v", m, want)
	}
	if r.CWELinks != len(cweLinks) || r.AttackLinks != len(attackLinks) {
		t.Errorf("import links %d, %d; want %d, %d", r.CWELinks, r.AttackLinks, len(cweLinks), len(attackLinks))
	}
}

func TestGetAndList(t *testing.T) {
	ctx := context.Background()
	s := imported(t)
	a, err := s.Get(ctx, "CAPEC-66")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Get(ctx, "66"); string(a) != string(b) {
		t.Error(`Get("CAPEC-66") and Get("66") differ`)
	}
	for _, key := range []string{`"name":"SQL Injection"`, `"likelihood":"High"`, `"severity":"High"`, `"execution_flow":[{"step":1,"phase":"Explore"`,
		`"related_weaknesses":["CWE-89","CWE-1286"]`, `"related_attack_patterns":[{"nature":"ChildOf","capec_id":"CAPEC-248"}]`, `"prerequisites":[`,
		`"skills":[{"level":"Low"`, `"mitigations":[`, `"taxonomy_mappings":[{"taxonomy_name":"WASC","entry_id":"19"`} {
		if !strings.Contains(string(a), key) {
			t.Errorf("CAPEC-66 lacks %s", key)
		}
	}
	ap, err := s.AttackPattern(ctx, "CAPEC-66")
	if err != nil || len(ap.Consequences) != 4 || ap.ExecutionFlow[2].Phase != "Experiment" {
		t.Errorf("AttackPattern(66) = %+v, %v", ap, err)
	}
	if c, err := s.Get(ctx, "118"); err != nil || !strings.Contains(string(c), `"kind":"category"`) {
		t.Errorf("category 118: %.80s, %v", c, err)
	}
	if v, err := s.Get(ctx, "CAPEC-1000"); err != nil || !strings.Contains(string(v), `"kind":"view"`) {
		t.Errorf("view 1000: %.80s, %v", v, err)
	}
	if _, err := s.Get(ctx, "CAPEC-99999"); !errors.Is(err, capec.ErrNotFound) || !strings.Contains(err.Error(), "CAPEC-99999") {
		t.Errorf("unknown: %v", err)
	}
	if _, err := s.Get(ctx, "CWE-79"); !errors.Is(err, capec.ErrInvalidID) {
		t.Errorf("bad id: %v", err)
	}
	for _, tc := range []struct{ offset, limit, wantLimit, items int }{{0, 0, 100, 100}, {600, 100, 100, 15}, {0, 2000, 1000, 615}} {
		p, err := s.List(ctx, sqlite.ListQuery{Offset: tc.offset, Limit: tc.limit})
		if err != nil || p.Total != 615 || p.Limit != tc.wantLimit || p.Offset != tc.offset || len(p.Items) != tc.items {
			t.Errorf("List(%d, %d) = %d/%d items, limit %d, %v", tc.offset, tc.limit, len(p.Items), p.Total, p.Limit, err)
		}
	}
	p, _ := s.List(ctx, sqlite.ListQuery{Offset: 0, Limit: 1})
	var sum Summary
	if json.Unmarshal(p.Items[0], &sum); sum.ID != "CAPEC-1" || sum.Severity == "" {
		t.Errorf("first summary = %+v", sum)
	}
	if _, err := s.List(ctx, sqlite.ListQuery{Offset: -5, Limit: 0}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("negative offset: %v", err)
	}
}

func TestLinks(t *testing.T) {
	ctx := context.Background()
	s := imported(t)
	cwes, err := s.CWEsForCAPEC(ctx, "CAPEC-66")
	if err != nil || !slices.Equal(cwes, []string{"CWE-89", "CWE-1286"}) {
		t.Errorf("CWEsForCAPEC(66) = %v, %v", cwes, err)
	}
	capecs, err := s.CAPECsForCWE(ctx, "89")
	if err != nil || !slices.Contains(capecs, "CAPEC-66") || !slices.IsSortedFunc(capecs, func(a, b string) int {
		x, _ := capec.ParseID(a)
		y, _ := capec.ParseID(b)
		return x - y
	}) {
		t.Errorf("CAPECsForCWE(89) = %v, %v", capecs, err)
	}
	// The pattern that maps ATT&CK 1574.010 in the file.
	withSub, err := s.CAPECsForAttackTechnique(ctx, "T1574.010")
	if err != nil || len(withSub) == 0 {
		t.Fatalf("CAPECsForAttackTechnique(T1574.010) = %v, %v", withSub, err)
	}
	techs, err := s.AttackTechniquesForCAPEC(ctx, withSub[0])
	if err != nil || !slices.Contains(techs, "T1574.010") {
		t.Errorf("AttackTechniquesForCAPEC(%s) = %v, %v", withSub[0], techs, err)
	}
	bare, _ := s.CAPECsForAttackTechnique(ctx, "1574.010")
	parent, _ := s.CAPECsForAttackTechnique(ctx, "t1574")
	if !slices.Equal(bare, withSub) || !slices.Contains(parent, withSub[0]) {
		t.Errorf("technique forms: %v / %v / parent %v", withSub, bare, parent)
	}
	if _, err := s.CAPECsForAttackTechnique(ctx, "TA0002"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("tactic id: %v", err)
	}
	if none, err := s.CWEsForCAPEC(ctx, "CAPEC-99999"); err != nil || len(none) != 0 {
		t.Errorf("unknown pattern: %v, %v", none, err)
	}
}

func TestSkipAndForce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	part := fragmentFile(t, 5, same)
	first, err := s.ImportFile(ctx, part, ImportOptions{XSDPath: schemaPath, Strict: true})
	if err != nil || first.AttackPatterns != 5 || first.Skipped {
		t.Fatalf("first import: %+v, %v", first, err)
	}
	m1, _ := s.Meta(ctx)
	again, err := s.ImportFile(ctx, part, ImportOptions{XSDPath: schemaPath, Strict: true})
	if err != nil || !again.Skipped || again.AttackPatterns != 5 || again.Version != "3.9" {
		t.Errorf("same version: %+v, %v", again, err)
	}
	if m2, _ := s.Meta(ctx); m2.ImportedAt != m1.ImportedAt {
		t.Errorf("a skipped import changed imported_at: %s -> %s", m1.ImportedAt, m2.ImportedAt)
	}
	forced, err := s.ImportFile(ctx, fragmentFile(t, 7, same), ImportOptions{XSDPath: schemaPath, Strict: true, Force: true})
	if err != nil || forced.Skipped || forced.AttackPatterns != 7 {
		t.Errorf("forced: %+v, %v", forced, err)
	}
	if m3, _ := s.Meta(ctx); m3.ImportedAt == m1.ImportedAt || m3.TotalCount != 7 {
		t.Errorf("forced import meta = %+v", m3)
	}
	newer := fragmentFile(t, 2, func(s string) string { return strings.Replace(s, `Version="3.9"`, `Version="3.10"`, 1) })
	if r, err := s.ImportFile(ctx, newer, ImportOptions{}); err != nil || r.Skipped || r.Version != "3.10" {
		t.Errorf("other version: %+v, %v", r, err)
	}
}

func TestFailedImportKeepsCatalog(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.ImportFile(ctx, fragmentFile(t, 3, same), ImportOptions{XSDPath: schemaPath, Strict: true}); err != nil {
		t.Fatal(err)
	}
	badAbstraction := func(s string) string { return strings.Replace(s, `Abstraction="Standard"`, `Abstraction="Huge"`, 1) }
	badXSD := filepath.Join(t.TempDir(), "bad.xsd")
	os.WriteFile(badXSD, []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:group name="g"/></xs:schema>`), 0o644)
	tests := []struct {
		name string
		path string
		opt  ImportOptions
		want error
		msg  string
	}{
		{"strict violation", fragmentFile(t, 4, badAbstraction), ImportOptions{XSDPath: schemaPath, Strict: true, Force: true}, capec.ErrSchema,
			`line 11: <Attack_Pattern>: attribute Abstraction: "Huge" is not one of`},
		{"truncated", fragmentFile(t, 4, func(s string) string { return s[:len(s)-60] }), ImportOptions{XSDPath: schemaPath, Force: true}, capec.ErrMalformed, "line "},
		{"bad entry", fragmentFile(t, 4, func(s string) string {
			return strings.Replace(s, `<Related_Weakness CWE_ID="`, `<Related_Weakness CWE_ID="x`, 1)
		}),
			ImportOptions{Force: true}, capec.ErrMalformed, `CWE_ID "x`},
		{"unusable xsd", fragmentFile(t, 4, same), ImportOptions{XSDPath: badXSD, Force: true}, capec.ErrBadSchema, "xs:group"},
		{"missing file", filepath.Join(t.TempDir(), "none.xml"), ImportOptions{Force: true}, os.ErrNotExist, "none.xml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ImportFile(ctx, tc.path, tc.opt)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
			if m, _ := s.Meta(ctx); m.TotalCount != 3 {
				t.Errorf("stored catalog changed: %+v", m)
			}
			if p, _ := s.List(ctx, sqlite.ListQuery{Offset: 0, Limit: 0}); p.Total != 3 {
				t.Errorf("stored %d attack patterns", p.Total)
			}
		})
	}
	// Lenient: the same violation is a warning and the import proceeds.
	r, err := s.ImportFile(ctx, fragmentFile(t, 4, badAbstraction), ImportOptions{XSDPath: schemaPath, Force: true})
	if err != nil || len(r.Warnings) != 1 || r.Warnings[0].Line != 11 || r.Warnings[0].Element != "Attack_Pattern" || r.AttackPatterns != 4 {
		t.Fatalf("lenient import: %+v, %v", r, err)
	}
	if m, _ := s.Meta(ctx); m.SchemaWarnings != 1 || m.TotalCount != 4 {
		t.Errorf("meta after lenient import = %+v", m)
	}
}
