package xlsx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/v2e/v2e/internal/attack"
	"github.com/xuri/excelize/v2"
)

const (
	assetsDir    = "../../../assets/attack"
	enterprise18 = assetsDir + "/enterprise-attack-v18.1.xlsx"
	mobile18     = assetsDir + "/mobile-attack-v18.1.xlsx"
	ics18        = assetsDir + "/ics-attack-v18.1.xlsx"
	enterprise14 = "../../../testdata/attack/enterprise-attack-v14.1.xlsx"
)

// loaded caches each workbook: the enterprise ones take a second each.
var loaded sync.Map // path → *attack.Catalog

func load(t testing.TB, path string) *attack.Catalog {
	t.Helper()
	if c, ok := loaded.Load(path); ok {
		return c.(*attack.Catalog)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	loaded.Store(path, c)
	return c
}

// TestLoadCounts checks the data-row counts of INDEX.md (ground truth).
// Sub-techniques are counted from the sheets' "is sub-technique" column
// (mobile: a dot in the id); techniques include them.
func TestLoadCounts(t *testing.T) {
	tests := []struct {
		path    string
		domain  attack.Domain
		version string
		want    attack.Counts
	}{
		{enterprise18, attack.Enterprise, "18.1", attack.Counts{Techniques: 691, Subtechniques: 475, Tactics: 14,
			Software: 784, Groups: 172, Mitigations: 44, Campaigns: 52, Relationships: 19431}},
		{mobile18, attack.Mobile, "18.1", attack.Counts{Techniques: 124, Subtechniques: 47, Tactics: 12,
			Software: 122, Groups: 17, Mitigations: 13, Campaigns: 3, Relationships: 1712}},
		{ics18, attack.ICS, "18.1", attack.Counts{Techniques: 83, Tactics: 12, Software: 23, Groups: 14,
			Mitigations: 52, Campaigns: 7, Assets: 18, Relationships: 1371}},
		{enterprise14, attack.Enterprise, "14.1", attack.Counts{Techniques: 625, Subtechniques: 424, Tactics: 14,
			Software: 648, Groups: 141, Mitigations: 43, Campaigns: 23, Relationships: 16638}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			t.Parallel()
			c := load(t, tt.path)
			if c.Domain != tt.domain || c.Version != tt.version {
				t.Errorf("domain, version = %q, %q; want %q, %q", c.Domain, c.Version, tt.domain, tt.version)
			}
			if got := c.Counts(); got != tt.want {
				t.Errorf("counts = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

// TestLoadConsistent checks properties every workbook must have.
func TestLoadConsistent(t *testing.T) {
	for _, path := range []string{enterprise18, mobile18, ics18, enterprise14} {
		c := load(t, path)
		ids := map[string]bool{}
		for _, te := range c.Techniques {
			ids[te.ID] = true
		}
		for _, te := range c.Techniques {
			if te.IsSubtechnique != strings.Contains(te.ID, ".") {
				t.Errorf("%s %s: is_subtechnique %v", c.Source, te.ID, te.IsSubtechnique)
			}
			if te.IsSubtechnique && !ids[te.Parent] {
				t.Errorf("%s %s: parent %q is not a technique of the workbook", c.Source, te.ID, te.Parent)
			}
			if len(te.TacticIDs) == 0 || len(te.TacticIDs) != len(te.Tactics) {
				t.Errorf("%s %s: tactics %v, ids %v", c.Source, te.ID, te.Tactics, te.TacticIDs)
			}
			if te.Domain != c.Domain || te.Created == "" || te.Modified == "" || te.STIXID == "" {
				t.Errorf("%s %s: incomplete object %+v", c.Source, te.ID, te.Object)
			}
		}
		for _, ta := range c.Tactics {
			if ta.MatrixOrder < 1 || ta.MatrixOrder > len(c.Tactics) {
				t.Errorf("%s %s: matrix order %d", c.Source, ta.ID, ta.MatrixOrder)
			}
		}
	}
}

// TestLoadFields spot-checks values against the v18.1 sheets.
func TestLoadFields(t *testing.T) {
	ent, mob, ics := load(t, enterprise18), load(t, mobile18), load(t, ics18)
	t1548 := find(t, ent.Techniques, "T1548")
	if t1548.Name != "Abuse Elevation Control Mechanism" || t1548.Created != "2020-01-30" ||
		t1548.Modified != "2025-10-24" || t1548.Version != "1.5" || t1548.IsSubtechnique ||
		!slices.Equal(t1548.Tactics, []string{"Defense Evasion", "Privilege Escalation"}) ||
		!slices.Equal(t1548.TacticIDs, []string{"TA0005", "TA0004"}) ||
		!slices.Contains(t1548.Platforms, "Identity Provider") || t1548.URL != "https://attack.mitre.org/techniques/T1548" {
		t.Errorf("T1548 = %+v", t1548)
	}
	if sub := find(t, ent.Techniques, "T1102.003"); !sub.IsSubtechnique || sub.Parent != "T1102" {
		t.Errorf("T1102.003 parent = %q, sub %v", sub.Parent, sub.IsSubtechnique)
	}
	if sub := find(t, mob.Techniques, "T1422.002"); !sub.IsSubtechnique || sub.Parent != "T1422" {
		t.Errorf("mobile T1422.002 = %+v", sub)
	}
	if s := find(t, ent.Software, "S0066"); s.Name != "3PARA RAT" || s.Type != "malware" || !slices.Equal(s.Platforms, []string{"Windows"}) {
		t.Errorf("S0066 = %+v", s)
	}
	if s := find(t, ics.Software, "S0366"); !slices.Contains(s.Aliases, "WanaCrypt0r") {
		t.Errorf("WannaCry aliases = %v", s.Aliases)
	}
	if g := find(t, mob.Groups, "G1028"); g.Domain != attack.Mobile || g.Version != "1.0" || !slices.Contains(g.Domains, attack.Enterprise) ||
		!slices.Contains(g.Aliases, "Arid Viper") {
		t.Errorf("mobile G1028 = %+v", g)
	}
	if c := find(t, ent.Campaigns, "C0028"); c.FirstSeen != "2015-12-01" || c.LastSeen != "2016-01-01" {
		t.Errorf("C0028 = %+v", c)
	}
	if ta := find(t, ent.Tactics, "TA0043"); ta.Name != "Reconnaissance" || ta.MatrixOrder != 1 {
		t.Errorf("TA0043 = %+v", ta)
	}
	if a := find(t, ics.Assets, "A0001"); a.Name == "" || len(a.Platforms) == 0 {
		t.Errorf("A0001 = %+v", a)
	}
	r := ent.Relationships[0]
	if r.SourceID != "C0028" || r.Type != "attributed-to" || r.TargetID != "G0034" || r.TargetType != "group" {
		t.Errorf("first relationship = %+v", r)
	}
}

func find[T any, P interface {
	*T
	Base() *attack.Object
}](t *testing.T, objs []T, id string) T {
	t.Helper()
	for i := range objs {
		if P(&objs[i]).Base().ID == id {
			return objs[i]
		}
	}
	t.Fatalf("%s not found", id)
	var zero T
	return zero
}

// TestLoadBroken edits a copy of the first rows of the real ICS workbook
// and checks that the error names the file, sheet, row and column at fault.
func TestLoadBroken(t *testing.T) {
	small := sample(t, ics18, 13)
	if _, err := LoadReader(bytes.NewReader(small), "ics-attack-v18.1.xlsx"); err != nil {
		t.Fatalf("the unedited sample does not load: %v", err)
	}
	tests := []struct {
		name   string
		edit   func(*excelize.File) error
		sheet  string
		row    int
		column string
	}{
		{"missing header", func(f *excelize.File) error { return f.RemoveCol("techniques", "J") }, "techniques", 1, "tactics"},
		{"missing sheet", func(f *excelize.File) error { return f.DeleteSheet("mitigations") }, "mitigations", 0, ""},
		{"bad date", func(f *excelize.File) error { return f.SetCellValue("software", "F5", "yesterday") }, "software", 5, "created"},
		{"empty id", func(f *excelize.File) error { return f.SetCellValue("groups", "A3", "") }, "groups", 3, "ID"},
		{"duplicate id", func(f *excelize.File) error { return f.SetCellValue("tactics", "A3", "TA0100") }, "tactics", 3, "ID"},
		{"unknown tactic", func(f *excelize.File) error { return f.SetCellValue("tactics", "C2", "Gathering") }, "techniques", 0, "tactics"},
		{"bad software type", func(f *excelize.File) error { return f.SetCellValue("software", "L2", "virus") }, "software", 2, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := excelize.OpenReader(bytes.NewReader(small))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := tt.edit(f); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "ics-attack-v18.1.xlsx")
			if err := f.SaveAs(path); err != nil {
				t.Fatal(err)
			}
			_, err = Load(path)
			var we *Error
			if !errors.As(err, &we) || !errors.Is(err, attack.ErrWorkbook) {
				t.Fatalf("Load = %v, want an *Error wrapping ErrWorkbook", err)
			}
			if we.File != "ics-attack-v18.1.xlsx" || we.Sheet != tt.sheet || we.Row != tt.row || we.Column != tt.column {
				t.Errorf("error %q names %s/%s/%d/%s, want sheet %s row %d column %s",
					err, we.File, we.Sheet, we.Row, we.Column, tt.sheet, tt.row, tt.column)
			}
		})
	}
}

// TestLoadCorrupt feeds truncated and altered copies of a real workbook.
func TestLoadCorrupt(t *testing.T) {
	data, err := os.ReadFile(mobile18)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(data)
	for i := len(flipped) / 3; i < len(flipped)/3+4096; i++ {
		flipped[i] ^= 0x5a
	}
	for name, b := range map[string][]byte{
		"truncated": data[:len(data)/2], "empty": nil, "flipped": flipped, "not a zip": []byte("ID,name\nT1,x\n"),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mobile-attack-v18.1.xlsx")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load of a %s workbook succeeded with %+v", name, c.Counts())
			}
			if !errors.Is(err, attack.ErrWorkbook) || !strings.Contains(err.Error(), "mobile-attack-v18.1.xlsx") {
				t.Errorf("error %q does not name the file or wrap ErrWorkbook", err)
			}
		})
	}
}

// TestLoadPath loads a directory holding copies of the mobile and ICS
// workbooks (the enterprise one is loaded by the tests above).
func TestLoadPath(t *testing.T) {
	dir := t.TempDir()
	for _, src := range []string{mobile18, ics18} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(src)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cats, err := LoadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []attack.Domain
	for _, c := range cats {
		got = append(got, c.Domain)
	}
	if want := []attack.Domain{attack.ICS, attack.Mobile}; !slices.Equal(got, want) {
		t.Errorf("domains = %v, want %v", got, want)
	}
	if _, err := LoadPath(t.TempDir()); !errors.Is(err, attack.ErrWorkbook) {
		t.Errorf("empty directory: err = %v", err)
	}
	if _, err := LoadPath(filepath.Join(t.TempDir(), "nope.xlsx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// sample copies the first n rows of every sheet of a real workbook into a
// new one: a small real workbook for the fuzz corpus.
func sample(t testing.TB, path string, n int) []byte {
	t.Helper()
	src, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := excelize.NewFile()
	defer dst.Close()
	for _, s := range src.GetSheetList() {
		if _, err := dst.NewSheet(s); err != nil {
			t.Fatal(err)
		}
		rows, err := src.Rows(s)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= n && rows.Next(); i++ {
			r, err := rows.Columns()
			if err != nil {
				t.Fatal(err)
			}
			cell, _ := excelize.CoordinatesToCellName(1, i)
			if err := dst.SetSheetRow(s, cell, &r); err != nil {
				t.Fatal(err)
			}
		}
		rows.Close()
	}
	if err := dst.DeleteSheet("Sheet1"); err != nil {
		t.Fatal(err)
	}
	buf, err := dst.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzLoadReader(f *testing.F) {
	small := sample(f, ics18, 13) // 13 rows keep all 12 tactics
	if _, err := LoadReader(bytes.NewReader(small), "ics-attack-v18.1.xlsx"); err != nil {
		f.Fatalf("the sample workbook does not load: %v", err)
	}
	f.Add(small)
	f.Add(small[:len(small)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := LoadReader(bytes.NewReader(b), "fuzz-v1.xlsx")
		if err != nil {
			if !errors.Is(err, attack.ErrWorkbook) {
				t.Fatalf("error %v does not wrap ErrWorkbook", err)
			}
			return
		}
		for _, te := range c.Techniques {
			if te.ID == "" || te.Name == "" || len(te.TacticIDs) != len(te.Tactics) {
				t.Fatalf("loaded an incomplete technique %+v", te)
			}
		}
	})
}

// TestLoadHugeDeclaredSize claims in the zip directory that styles.xml
// unzips to 3 GiB: excelize would allocate that up front; the loader's
// MaxUnzipSize refuses the file instead.
func TestLoadHugeDeclaredSize(t *testing.T) {
	b := sample(t, ics18, 13)
	name := []byte("xl/styles.xml")
	found := false
	for i := 0; i+46 < len(b); i++ {
		if !bytes.Equal(b[i:i+4], []byte{0x50, 0x4b, 0x01, 0x02}) { // central directory header
			continue
		}
		n := int(b[i+28]) | int(b[i+29])<<8
		if i+46+n <= len(b) && bytes.Equal(b[i+46:i+46+n], name) {
			copy(b[i+24:i+28], []byte{0x00, 0x00, 0x00, 0xc0}) // 3 GiB
			found = true
		}
	}
	if !found {
		t.Fatal("no central directory entry for xl/styles.xml in the sample")
	}
	_, err := LoadReader(bytes.NewReader(b), "ics-attack-v18.1.xlsx")
	if !errors.Is(err, attack.ErrWorkbook) || !strings.Contains(err.Error(), "ics-attack-v18.1.xlsx") {
		t.Fatalf("err = %v, want a workbook error naming the file", err)
	}
	t.Log(err)
}
