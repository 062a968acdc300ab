package capec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The CAPEC 3.9 catalog and its schema, shipped with the project.
const (
	catalogPath = "../../assets/capec/capec_contents_latest.xml"
	schemaPath  = "../../assets/capec/capec_schema_latest.xsd"
)

var (
	once    sync.Once
	realDoc []byte
	schema  *Schema
	realCat *Catalog
	loadErr error
)

var (
	docOnce sync.Once
	docErr  error
)

// load reads the real catalog and schema and parses the catalog, once.
func load(t testing.TB) ([]byte, *Schema, *Catalog) {
	t.Helper()
	doc, s := loadDoc(t)
	once.Do(func() { realCat, loadErr = Parse(bytes.NewReader(doc)) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return doc, s, realCat
}

// loadDoc reads the real catalog and schema without parsing the catalog.
func loadDoc(t testing.TB) ([]byte, *Schema) {
	t.Helper()
	docOnce.Do(func() {
		if realDoc, docErr = os.ReadFile(catalogPath); docErr != nil {
			return
		}
		schema, docErr = LoadSchemaFile(schemaPath)
	})
	if docErr != nil {
		t.Fatal(docErr)
	}
	return realDoc, schema
}

// fragment is the real catalog cut after its first n attack patterns and
// closed, a valid document.
func fragment(t testing.TB, n int) string {
	doc, _ := loadDoc(t)
	end := 0
	for range n {
		end += bytes.Index(doc[end:], []byte("</Attack_Pattern>")) + len("</Attack_Pattern>")
	}
	return string(doc[:end]) + "\n   </Attack_Patterns>\n</Attack_Pattern_Catalog>\n"
}

func lineOf(doc, s string) int {
	i := strings.Index(doc, s)
	if i < 0 {
		panic("fragment lacks " + s)
	}
	return strings.Count(doc[:i], "\n") + 1
}

func TestParseCounts(t *testing.T) {
	_, _, c := load(t)
	// Ground truth (data index): 615 Attack_Pattern, 78 Category, 13 View; CAPEC 3.9 of 2023-01-24.
	if c.Name != "CAPEC" || c.Version != "3.9" || c.Date != "2023-01-24" {
		t.Errorf("header = %q %q %q", c.Name, c.Version, c.Date)
	}
	if len(c.AttackPatterns) != 615 || len(c.Categories) != 78 || len(c.Views) != 13 {
		t.Errorf("counts = %d attack patterns, %d categories, %d views; want 615, 78, 13",
			len(c.AttackPatterns), len(c.Categories), len(c.Views))
	}
	links, mappings := 0, 0
	for _, a := range c.AttackPatterns {
		links += len(a.RelatedWeaknesses)
		for _, m := range a.TaxonomyMappings {
			if m.TaxonomyName == "ATTACK" {
				mappings++
			}
		}
	}
	// 1,214 Related_Weakness and 272 ATTACK mappings in the file (grep -c).
	if links != 1214 || mappings != 272 {
		t.Errorf("%d weakness links, %d ATT&CK mappings; want 1214, 272", links, mappings)
	}
}

func TestAttackPattern66(t *testing.T) {
	_, _, c := load(t)
	a := c.AttackPatterns[slices.IndexFunc(c.AttackPatterns, func(a AttackPattern) bool { return a.ID == "CAPEC-66" })]
	if a.Name != "SQL Injection" || a.Abstraction != "Standard" || a.Status != "Draft" || a.Likelihood != "High" ||
		a.Severity != "High" || a.Kind != KindAttackPattern {
		t.Errorf("CAPEC-66 header = %+v", a)
	}
	if len(a.ExecutionFlow) != 4 || a.ExecutionFlow[3].Step != 4 || a.ExecutionFlow[3].Phase != "Exploit" ||
		len(a.ExecutionFlow[1].Techniques) != 4 {
		t.Errorf("execution flow = %+v", a.ExecutionFlow)
	}
	if !slices.Equal(a.RelatedWeaknesses, []WeaknessRef{"CWE-89", "CWE-1286"}) ||
		a.RelatedAttackPatterns[0].Nature != "ChildOf" || a.RelatedAttackPatterns[0].CAPECID != "CAPEC-248" {
		t.Errorf("links = %v %v", a.RelatedWeaknesses, a.RelatedAttackPatterns)
	}
	if len(a.Prerequisites) != 2 || a.Skills[0].Level != "Low" || !strings.HasPrefix(a.Skills[0].Description, "It is fairly simple") ||
		len(a.Resources) != 1 || len(a.Consequences) != 4 || a.Consequences[2].Note != "Run Arbitrary Code" ||
		len(a.Mitigations) != 3 || len(a.ExampleInstances) != 1 || len(a.TaxonomyMappings) != 2 || a.TaxonomyMappings[0].EntryID != "19" {
		t.Errorf("CAPEC-66 details = %+v", a)
	}
	if strings.Contains(string(a.ExtendedDescription), "<") {
		t.Errorf("markup left in %q", a.ExtendedDescription)
	}
}

func TestAttackTechniques(t *testing.T) {
	_, _, c := load(t)
	found := false
	for _, a := range c.AttackPatterns {
		for _, m := range a.TaxonomyMappings {
			if m.TaxonomyName == "ATTACK" && m.EntryID == "1574.010" {
				found = slices.Contains(a.AttackTechniques, "T1574.010")
				if !found {
					t.Errorf("%s maps ATT&CK 1574.010 but attack_techniques = %v", a.ID, a.AttackTechniques)
				}
			}
		}
	}
	if !found {
		t.Error("no attack pattern maps to T1574.010")
	}
}

func TestIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{{"CAPEC-66", 66}, {"66", 66}, {"capec-1", 1}, {"", 0}, {"CWE-66", 0}, {"CAPEC-0", 0}, {"6x", 0}} {
		got, err := ParseID(tc.in)
		if (tc.want == 0) != errors.Is(err, ErrInvalidID) || got != tc.want {
			t.Errorf("ParseID(%q) = %d, %v", tc.in, got, err)
		}
	}
	for in, want := range map[string]string{"1574.010": "T1574.010", "1110": "T1110", "T1059.001": "T1059.001", "t1059": "T1059",
		"": "", "157": "", "1574.01": "", "TA0002": "", "1574.010x": ""} {
		got, err := TechniqueID(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("TechniqueID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := fragment(t, 3)
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"truncated", good[:len(good)/2], []string{"line "}},
		{"mismatched tag", strings.Replace(good, "</Description>", "</Descriptio>", 1), []string{"line 14"}},
		{"empty id", strings.Replace(good, `ID="1" `, `ID="" `, 1), []string{"line 11", `Attack_Pattern ID ""`}},
		{"bad status", strings.Replace(good, `Status="Draft"`, `Status="Gone"`, 1), []string{"line 11", "CAPEC-1", `Status "Gone"`}},
		{"bad cwe link", strings.Replace(good, `<Related_Weakness CWE_ID="`, `<Related_Weakness CWE_ID="x`, 1), []string{"CWE_ID \"x"}},
		{"bad attack id", strings.Replace(fragment(t, 615), "<Entry_ID>1574.010<", "<Entry_ID>1574.1<", 1), []string{"Taxonomy_Mapping ATTACK Entry_ID", "1574.1"}},
		{"wrong root", `<Weakness_Catalog Version="1"/>`, []string{"root element"}},
		{"no version", `<Attack_Pattern_Catalog xmlns="http://capec.mitre.org/capec-3" Name="CAPEC"/>`, []string{"no Version"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.doc))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	_, s, _ := load(t)
	dir := t.TempDir()
	good := fragment(t, 3)
	bad := strings.Replace(good, `Abstraction="Standard"`, `Abstraction="Huge"`, 1)
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, vs, err := ReadFile(write("good.xml", good), s, true)
	if err != nil || len(vs) != 0 || len(c.AttackPatterns) != 3 {
		t.Fatalf("strict read of a valid file: %v, %v", vs, err)
	}
	badPath := write("bad.xml", bad)
	if _, vs, err := ReadFile(badPath, s, true); !errors.Is(err, ErrSchema) || len(vs) != 1 ||
		!strings.Contains(err.Error(), `bad.xml`) || !strings.Contains(err.Error(), `line 11: <Attack_Pattern>: attribute Abstraction: "Huge" is not one of [Meta Standard Detailed]`) {
		t.Errorf("strict read of an invalid file: %v, %v", vs, err)
	}
	c, vs, err = ReadFile(badPath, s, false)
	if err != nil || len(vs) != 1 || vs[0].Line != 11 || len(c.AttackPatterns) != 3 || c.AttackPatterns[0].Abstraction != "Huge" {
		t.Errorf("lenient read of an invalid file: %v, %v", vs, err)
	}
	if _, _, err := ReadFile(write("cut.xml", good[:500]), s, false); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated file: %v", err)
	}
	if _, _, err := ReadFile(filepath.Join(dir, "none.xml"), s, false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if h, err := ReadHeaderFile(catalogPath); err != nil || h != (Header{Name: "CAPEC", Version: "3.9", Date: "2023-01-24"}) {
		t.Errorf("header = %+v, %v", h, err)
	}
}
