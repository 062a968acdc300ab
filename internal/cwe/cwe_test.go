package cwe

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// catalogZip is MITRE's CWE 4.15 catalog shipped with the project.
const catalogZip = "../../assets/cwe/cwec_v4.15.xml.zip"

var (
	realOnce sync.Once
	realCat  *Catalog
	realXML  []byte
	realErr  error
)

// real parses the shipped catalog once for all tests.
func real(t testing.TB) (*Catalog, []byte) {
	t.Helper()
	realOnce.Do(func() {
		realCat, realErr = ReadFile(catalogZip)
		if realErr != nil {
			return
		}
		realXML, realErr = unzipFirst(catalogZip)
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realCat, realXML
}

func unzipFirst(path string) ([]byte, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	rc, err := zr.File[0].Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// fragment returns the real catalog cut after its first n weaknesses, closed
// so that it is a well-formed document.
func fragment(t testing.TB, n int) []byte {
	_, x := real(t)
	end := 0
	for i := 0; i < n; i++ {
		k := bytes.Index(x[end:], []byte("</Weakness>"))
		if k < 0 {
			t.Fatal("catalog has fewer weaknesses than asked")
		}
		end += k + len("</Weakness>")
	}
	out := append([]byte{}, x[:end]...)
	return append(out, "\n\t</Weaknesses>\n</Weakness_Catalog>\n"...)
}

func TestReadFileCounts(t *testing.T) {
	c, _ := real(t)
	// Ground truth from the data index: 964 weaknesses, 409 categories, 54 views, 1,212 CAPEC links.
	if c.Version != "4.15" || c.Date != "2024-07-16" || c.Name != "CWE" {
		t.Errorf("catalog = %q %q %q, want CWE 4.15 2024-07-16", c.Name, c.Version, c.Date)
	}
	if len(c.Weaknesses) != 964 || len(c.Categories) != 409 || len(c.Views) != 54 || c.CAPECLinks() != 1212 {
		t.Errorf("counts = %d weaknesses, %d categories, %d views, %d CAPEC links; want 964, 409, 54, 1212",
			len(c.Weaknesses), len(c.Categories), len(c.Views), c.CAPECLinks())
	}
}

func TestWeakness79(t *testing.T) {
	c, _ := real(t)
	i := slices.IndexFunc(c.Weaknesses, func(w Weakness) bool { return w.ID == "CWE-79" })
	if i < 0 {
		t.Fatal("CWE-79 missing")
	}
	w := c.Weaknesses[i]
	if w.Kind != KindWeakness || w.Abstraction != "Base" || w.Structure != "Simple" || w.Status != "Stable" ||
		!strings.HasPrefix(string(w.Description), "The product does not neutralize") {
		t.Errorf("CWE-79 header = %+v", w)
	}
	wantRel := RelatedWeakness{Nature: "ChildOf", CWEID: "CWE-74", ViewID: "CWE-1000", Ordinal: "Primary"}
	if len(w.RelatedWeaknesses) != 4 || w.RelatedWeaknesses[0] != wantRel {
		t.Errorf("related weaknesses = %+v", w.RelatedWeaknesses)
	}
	if !slices.Equal(w.RelatedAttackPatterns, []AttackPatternRef{"CAPEC-209", "CAPEC-588", "CAPEC-591", "CAPEC-592", "CAPEC-63", "CAPEC-85"}) {
		t.Errorf("related attack patterns = %v", w.RelatedAttackPatterns)
	}
	if w.ObservedExamples[0].Reference != "CVE-2021-25926" || len(w.CommonConsequences) != 3 ||
		w.CommonConsequences[0].Scope[0] != "Access Control" || w.PotentialMitigations[0].MitigationID != "MIT-4" ||
		w.DetectionMethods[0].Method != "Automated Static Analysis" || w.MappingNotes.Usage != "Allowed" ||
		w.MappingNotes.Reasons[0] != "Acceptable-Use" || w.Notes[0].Type != "Relationship" {
		t.Errorf("CWE-79 details wrong: %+v", w)
	}
	if w.ApplicablePlatforms[1] != (Platform{Type: "Technology", Class: "Web Based", Prevalence: "Often"}) {
		t.Errorf("platforms = %+v", w.ApplicablePlatforms)
	}
	ex := w.DemonstrativeExamples[0].Entries
	if ex[1].Nature != "Bad" || ex[1].Language != "PHP" || !strings.Contains(ex[1].ExampleCode, "$_GET['username']") {
		t.Errorf("demonstrative example = %+v", ex[:2])
	}
	if strings.Contains(string(w.ExtendedDescription), "<") || strings.Contains(string(w.ExtendedDescription), "  ") {
		t.Errorf("extended description keeps markup or blank runs: %q", w.ExtendedDescription[:200])
	}
}

func TestCategoriesAndViews(t *testing.T) {
	c, _ := real(t)
	cat := c.Categories[slices.IndexFunc(c.Categories, func(x Category) bool { return x.ID == "CWE-1009" })]
	if cat.Name != "Audit" || cat.Kind != KindCategory || len(cat.Members) != 6 ||
		cat.Members[0] != (Member{CWEID: "CWE-117", ViewID: "CWE-1008"}) {
		t.Errorf("CWE-1009 = %+v", cat)
	}
	v := c.Views[slices.IndexFunc(c.Views, func(x View) bool { return x.ID == "CWE-1003" })]
	if v.Type != "Graph" || v.Status != "Incomplete" || len(v.Members) < 30 || v.Members[0].CWEID != "CWE-20" {
		t.Errorf("CWE-1003 = %+v", v)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	c, _ := real(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, c.Weaknesses); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"RelatedWeaknesses": [`)) || !bytes.Contains(buf.Bytes(), []byte(`"CweID": "74"`)) {
		t.Fatal("WriteJSON does not use the REST API's PascalCase keys and bare ids")
	}
	got, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Weaknesses) != 964 || got.CAPECLinks() != 1212 {
		t.Fatalf("JSON form: %d weaknesses, %d links", len(got.Weaknesses), got.CAPECLinks())
	}
	for i := range got.Weaknesses {
		if !reflect.DeepEqual(got.Weaknesses[i], c.Weaknesses[i]) {
			t.Fatalf("weakness %s differs after the JSON round trip:\n got %+v\nwant %+v", c.Weaknesses[i].ID, got.Weaknesses[i], c.Weaknesses[i])
		}
	}
}

func TestParseJSONObjectForm(t *testing.T) {
	// The REST API answers /cwe/weakness/{id} with {"Weaknesses": [...]}.
	c, _ := real(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, c.Weaknesses[:2]); err != nil {
		t.Fatal(err)
	}
	doc := `{"Other": {"x": [1]}, "Weaknesses": ` + buf.String() + `}`
	got, err := ParseJSON(strings.NewReader(doc))
	if err != nil || len(got.Weaknesses) != 2 || got.Weaknesses[1].ID != c.Weaknesses[1].ID {
		t.Fatalf("object form: %v, %+v", err, got)
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"CWE-79", 79, true}, {"79", 79, true}, {"cwe-1004", 1004, true}, {" CWE-20 ", 20, true},
		{"", 0, false}, {"CWE-", 0, false}, {"CWE-x", 0, false}, {"-5", 0, false}, {"0", 0, false},
		{"+7", 0, false}, {"CAPEC-66", 0, false}, {"NVD-CWE-Other", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseID(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("ParseID(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		if !tc.ok && !errors.Is(err, ErrInvalidID) {
			t.Errorf("ParseID(%q) = %d, %v; want ErrInvalidID", tc.in, got, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	good := string(fragment(t, 2))
	var js bytes.Buffer
	c, _ := real(t)
	if err := WriteJSON(&js, c.Weaknesses[:2]); err != nil {
		t.Fatal(err)
	}
	goodJSON := js.String()
	tests := []struct {
		name, doc string
		want      []string // substrings of the error
	}{
		{"truncated xml", good[:len(good)/2], []string{"line "}},
		{"unclosed catalog", strings.TrimSuffix(good, "</Weakness_Catalog>\n"), []string{"line ", "unexpected EOF"}},
		{"mismatched tag", strings.Replace(good, "</Description>", "</Descr>", 1), []string{"line 4", "Descr"}},
		{"empty id", strings.Replace(good, `ID="1004"`, `ID=""`, 1), []string{"line 3", `Weakness ID ""`}},
		{"bad status", strings.Replace(good, `Status="Incomplete"`, `Status="Done"`, 1), []string{"line 3", "CWE-1004", `Status "Done"`}},
		{"bad related id", strings.Replace(good, `CWE_ID="732"`, `CWE_ID="x"`, 1), []string{"CWE-1004", `CWE_ID "x"`}},
		{"bad capec ref", strings.Replace(good, `CAPEC_ID="`, `CAPEC_ID="q`, 1), []string{"CAPEC_ID"}},
		{"wrong root", `<?xml version="1.0"?><Attack_Pattern_Catalog/>`, []string{"root element"}},
		{"not xml or json", "hello", []string{"neither XML nor JSON"}},
		{"empty", "   ", []string{"empty input"}},
		{"truncated json", goodJSON[:len(goodJSON)/2], []string{"line "}},
		{"json syntax", strings.Replace(goodJSON, `"Name":`, `"Name"`, 1), []string{"line ", "invalid character"}},
		{"json type", strings.Replace(goodJSON, `"Scope": [`, `"Scope": "x", "Scope2": [`, 1), []string{"item 0", "field common_consequences.scope"}},
		{"json bad id", strings.Replace(goodJSON, `"ID": "1004"`, `"ID": "abc"`, 1), []string{"line 2", "item 0", `ID "abc"`}},
		{"json not object", `[1]`, []string{"item 0", "not an object"}},
		{"json no weaknesses", `{"a": 1}`, []string{"no \"Weaknesses\""}},
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

func TestReadFileZipErrors(t *testing.T) {
	dir := t.TempDir()
	whole, err := os.ReadFile(catalogZip)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.zip")
	if err := os.WriteFile(cut, whole[:len(whole)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(cut); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "cut.zip") {
		t.Errorf("truncated zip: %v", err)
	}
	// A zip whose member is cut short: the XML parser or the checksum must fail.
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	f, _ := zw.Create("cwe.xml")
	f.Write(fragment(t, 3)[:5000])
	zw.Close()
	short := filepath.Join(dir, "short.zip")
	os.WriteFile(short, b.Bytes(), 0o644)
	if _, err := ReadFile(short); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "short.zip!cwe.xml: ") {
		t.Errorf("zip with a truncated member: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "none.xml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestSnakePascal(t *testing.T) {
	for in, want := range map[string]string{
		"ID": "id", "CweID": "cwe_id", "ViewID": "view_id", "ExtendedDescription": "extended_description",
		"URLDate": "url_date", "Taxonomy_Mappings": "taxonomy_mappings", "ExternalReferenceID": "external_reference_id",
		"RelatedAttackPatterns": "related_attack_patterns", "Content_History": "content_history",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
		if in != "Taxonomy_Mappings" && in != "Content_History" {
			if back := pascal(want); back != in {
				t.Errorf("pascal(%q) = %q, want %q", want, back, in)
			}
		}
	}
}
