// Package xlsx loads MITRE's ATT&CK Excel exports (enterprise-attack-v18.1.xlsx,
// mobile-…, ics-…) into an attack.Catalog.
//
// Columns are found by header name, never by position, because the exports
// add, drop and move columns between releases (v14.1 techniques have 23
// columns, v18.1 have 18). The sheets techniques, tactics, mitigations,
// software, groups and relationships are required; campaigns, assets and the
// matrix sheet are read when present. Every problem is returned as an *Error
// naming the file, sheet, row and column; it wraps attack.ErrWorkbook.
//
// Sheets are read with excelize's streaming row iterator. The loader holds
// no state: Load is safe to call from several goroutines on different files.
package xlsx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/v2e/v2e/internal/attack"
	"github.com/xuri/excelize/v2"
)

// Headers every object sheet must have.
var objectHeaders = []string{"ID", "STIX ID", "name", "description", "url", "created", "last modified", "domain", "version"}

// MaxUnzipSize caps the unzipped size of a workbook (the v18.1 enterprise
// export unzips to 24 MB). excelize reserves each part's declared size up
// front, so without a cap a corrupt zip header can ask for gigabytes.
const MaxUnzipSize = 128 << 20

var versionRE = regexp.MustCompile(`(?i)-v(\d+(?:\.\d+)*)\.xlsx$`)

// Load reads the workbook at path.
func Load(path string) (*attack.Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: filepath.Base(path), Err: err}
	}
	return LoadReader(bytes.NewReader(data), filepath.Base(path))
}

// LoadReader reads a workbook from r. name is the file name: errors quote
// it, and the version is taken from it ("enterprise-attack-v18.1.xlsx" is
// version 18.1; a name without "-v<version>.xlsx" gives version "").
func LoadReader(r io.Reader, name string) (cat *attack.Catalog, err error) {
	defer func() {
		if p := recover(); p != nil { // excelize panics on some malformed files
			cat, err = nil, &Error{File: name, Err: fmt.Errorf("malformed workbook: %v", p)}
		}
	}()
	f, err := excelize.OpenReader(r, excelize.Options{UnzipSizeLimit: MaxUnzipSize})
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	defer f.Close()
	l := &loader{f: f, file: name, cat: &attack.Catalog{Source: name}}
	if m := versionRE.FindStringSubmatch(name); m != nil {
		l.cat.Version = m[1]
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	return l.cat, nil
}

type loader struct {
	f    *excelize.File
	file string
	cat  *attack.Catalog
}

func (l *loader) load() error {
	for _, s := range []string{"techniques", "tactics", "mitigations", "software", "groups", "relationships"} {
		if !hasSheet(l.f, s) {
			return &Error{File: l.file, Sheet: s, Err: errors.New("required sheet is missing")}
		}
	}
	// The relationships sheet is half of the work: read it on a second
	// goroutine (excelize guards the shared-strings table with a mutex and
	// gives each Rows iterator its own decoder).
	var relErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		relErr = l.relationships()
	}()
	err := firstErr(l.techniques, l.tactics, l.matrix, l.mitigations, l.software, l.groups,
		l.campaigns, l.assets, l.resolveTactics)
	<-done
	if err != nil {
		return err
	}
	if relErr != nil {
		return relErr
	}
	for i := range l.cat.Relationships {
		l.cat.Relationships[i].Domain = l.cat.Domain
	}
	return nil
}

func firstErr(steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// object reads the columns shared by every object sheet. The first technique
// row fixes the workbook's domain; a technique of another domain is an error.
func (l *loader) object(r *row, idPrefix string) (attack.Object, error) {
	var o attack.Object
	var err error
	if o.ID, err = r.need("ID"); err != nil {
		return o, err
	}
	id, err := attack.NormalizeID(o.ID)
	if err != nil || !strings.HasPrefix(id, idPrefix) || id != o.ID {
		return o, r.errorf("ID", "%q is not an ATT&CK id starting with %q", o.ID, idPrefix)
	}
	if o.Name, err = r.need("name"); err != nil {
		return o, err
	}
	if o.STIXID, err = r.need("STIX ID"); err != nil {
		return o, err
	}
	o.Description, o.URL, o.Version = r.get("description"), r.get("url"), r.get("version")
	if o.Created, err = r.date("created"); err != nil {
		return o, err
	}
	if o.Modified, err = r.date("last modified"); err != nil {
		return o, err
	}
	if o.Deprecated, err = r.flag("deprecated"); err != nil {
		return o, err
	}
	if o.Revoked, err = r.flag("revoked"); err != nil {
		return o, err
	}
	for _, d := range r.list("domain", ",") {
		o.Domains = append(o.Domains, attack.Domain(d))
	}
	o.Domain = l.cat.Domain
	return o, nil
}

// seen returns a function that rejects a second row with the same id.
func seen() func(r *row, id string) error {
	ids := map[string]int{}
	return func(r *row, id string) error {
		if prev, ok := ids[id]; ok {
			return r.errorf("ID", "%q repeats row %d", id, prev)
		}
		ids[id] = r.num
		return nil
	}
}

func (l *loader) techniques() error {
	required := append(append([]string{}, objectHeaders...), "tactics", "platforms")
	dup := seen()
	err := readSheet(l.f, l.file, "techniques", required, func(r *row) error {
		if l.cat.Domain == "" {
			d, err := attack.ParseDomain(r.get("domain"))
			if err != nil || d == "" {
				return r.errorf("domain", "%q is not an ATT&CK domain", r.get("domain"))
			}
			l.cat.Domain = d
		}
		if got := r.get("domain"); got != string(l.cat.Domain) {
			return r.errorf("domain", "%q differs from the workbook's domain %q", got, l.cat.Domain)
		}
		o, err := l.object(r, "T")
		if err != nil {
			return err
		}
		if err := dup(r, o.ID); err != nil {
			return err
		}
		t, err := technique(r, o)
		if err != nil {
			return err
		}
		l.cat.Techniques = append(l.cat.Techniques, t)
		return nil
	})
	if err == nil && len(l.cat.Techniques) == 0 {
		err = &Error{File: l.file, Sheet: "techniques", Err: errors.New("has no data rows")}
	}
	return err
}

// technique reads the technique columns. Mobile and ICS exports have no
// "is sub-technique" column: there a dot in the id marks a sub-technique.
func technique(r *row, o attack.Object) (attack.Technique, error) {
	t := attack.Technique{
		Object: o, Tactics: r.list("tactics", ","), TacticIDs: []string{}, Platforms: r.list("platforms", ","),
		Detection: r.get("detection"), SupportsRemote: r.get("supports remote"), ImpactType: r.get("impact type"),
		TacticType: r.get("tactic type"), Contributors: r.list("contributors", ","),
	}
	base, _, dotted := strings.Cut(o.ID, ".")
	t.IsSubtechnique = dotted
	if r.has("is sub-technique") {
		var err error
		if t.IsSubtechnique, err = r.flag("is sub-technique"); err != nil {
			return t, err
		}
		if t.IsSubtechnique != dotted {
			return t, r.errorf("is sub-technique", "%v disagrees with id %q", t.IsSubtechnique, o.ID)
		}
	}
	if t.IsSubtechnique {
		t.Parent = base
		if p := r.get("sub-technique of"); p != "" && p != base {
			return t, r.errorf("sub-technique of", "%q is not the parent of %q", p, o.ID)
		}
	}
	return t, nil
}

func (l *loader) tactics() error {
	dup := seen()
	return readSheet(l.f, l.file, "tactics", objectHeaders, func(r *row) error {
		o, err := l.object(r, "TA")
		if err != nil {
			return err
		}
		if err := dup(r, o.ID); err != nil {
			return err
		}
		l.cat.Tactics = append(l.cat.Tactics, attack.Tactic{Object: o})
		return nil
	})
}

// matrix reads the header row of the matrix sheet ("Enterprise ATT&CK
// matrix", "matrix"): the tactics in kill-chain order.
func (l *loader) matrix() error {
	var sheet string
	for _, s := range l.f.GetSheetList() {
		if strings.Contains(strings.ToLower(s), "matrix") {
			sheet = s
			break
		}
	}
	if sheet == "" {
		return nil
	}
	rows, err := l.f.Rows(sheet)
	if err != nil {
		return &Error{File: l.file, Sheet: sheet, Err: err}
	}
	defer rows.Close()
	if !rows.Next() {
		return rows.Error()
	}
	cells, err := rows.Columns()
	if err != nil {
		return &Error{File: l.file, Sheet: sheet, Row: 1, Err: err}
	}
	order := map[string]int{}
	for _, c := range cells {
		if c = strings.TrimSpace(c); c != "" {
			order[c] = len(order) + 1
		}
	}
	for i := range l.cat.Tactics {
		l.cat.Tactics[i].MatrixOrder = order[l.cat.Tactics[i].Name]
	}
	return nil
}

// resolveTactics fills each technique's tactic ids from the tactic names.
func (l *loader) resolveTactics() error {
	byName := make(map[string]string, len(l.cat.Tactics))
	for _, t := range l.cat.Tactics {
		byName[t.Name] = t.ID
	}
	for i := range l.cat.Techniques {
		t := &l.cat.Techniques[i]
		for _, name := range t.Tactics {
			id, ok := byName[name]
			if !ok {
				return &Error{File: l.file, Sheet: "techniques", Column: "tactics",
					Err: fmt.Errorf("technique %s: tactic %q is not in the tactics sheet", t.ID, name)}
			}
			t.TacticIDs = append(t.TacticIDs, id)
		}
	}
	return nil
}

// LoadPath loads the workbook at path or, when path is a directory, every
// *.xlsx file in it, at most two at a time (enterprise alone takes most of
// the time). Catalogs come back in file-name order. When any file fails, the
// error of the first failing file in that order is returned.
func LoadPath(path string) ([]*attack.Catalog, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &Error{File: filepath.Base(path), Err: err}
	}
	if !st.IsDir() {
		c, err := Load(path)
		if err != nil {
			return nil, err
		}
		return []*attack.Catalog{c}, nil
	}
	files, err := filepath.Glob(filepath.Join(path, "*.xlsx"))
	if err != nil {
		return nil, &Error{File: filepath.Base(path), Err: err}
	}
	if len(files) == 0 {
		return nil, &Error{File: filepath.Base(path), Err: errors.New("directory holds no .xlsx workbook")}
	}
	return loadAll(files)
}

func loadAll(files []string) ([]*attack.Catalog, error) {
	cats := make([]*attack.Catalog, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, file := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cats[i], errs[i] = Load(file)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return cats, nil
}
