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
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	return loadFile(path, nil)
}

func loadFile(path string, out *events) (*attack.Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: filepath.Base(path), Err: err}
	}
	return loadReader(bytes.NewReader(data), filepath.Base(path), out)
}

// LoadReader reads a workbook from r. name is the file name: errors quote
// it, and the version is taken from it ("enterprise-attack-v18.1.xlsx" is
// version 18.1; a name without "-v<version>.xlsx" gives version "").
func LoadReader(r io.Reader, name string) (cat *attack.Catalog, err error) {
	return loadReader(r, name, nil)
}

func loadReader(r io.Reader, name string, out *events) (cat *attack.Catalog, err error) {
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
	l := &loader{f: f, file: name, cat: &attack.Catalog{Source: name}, out: out}
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
	out  *events // nil unless LoadPathTo streams the workbook to a Sink
}

// relBatch is how many relationships the relationships sheet's reader
// hands on at a time.
const relBatch = 512

func (l *loader) load() error {
	for _, s := range []string{"techniques", "tactics", "mitigations", "software", "groups", "relationships"} {
		if !hasSheet(l.f, s) {
			return &Error{File: l.file, Sheet: s, Err: errors.New("required sheet is missing")}
		}
	}
	// The relationships sheet is most of the work (in enterprise, 9.4 of
	// the 10.8 MB of sheet XML read): read it on a second goroutine
	// (excelize guards the shared-strings table with a mutex and gives each
	// Rows iterator its own decoder), which hands its rows on in batches.
	// The batches wait for the other sheets, which fix the domain; the
	// channel holds more batches than a workbook has, so the reader never
	// waits for them.
	var relErr error
	batches := make(chan []attack.Relationship, 128)
	go func() {
		defer close(batches)
		relErr = l.relationships(batches)
	}()
	err := firstErr(l.techniques, l.tactics, l.matrix, l.mitigations, l.software, l.groups,
		l.campaigns, l.assets, l.resolveTactics)
	if err == nil && l.out != nil {
		objects := *l.cat // the sheets read so far: Relationships is still empty
		l.out.send(event{kind: objectsEvent, cat: &objects})
	}
	for b := range batches {
		if err != nil {
			continue // drain: the reader stops at the end of its sheet
		}
		for i := range b {
			b[i].Domain = l.cat.Domain
		}
		l.cat.Relationships = append(l.cat.Relationships, b...)
		if l.out != nil {
			l.out.send(event{kind: relationshipsEvent, rels: b})
		}
	}
	if err != nil {
		return err
	}
	return relErr
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
	return LoadPathTo(path, nil)
}

// Sink receives the workbooks of LoadPathTo while they load, so that they
// can be stored while the rest is still read (attack.Sink describes the
// order of the calls; i is the workbook's place in file-name order). Its
// methods are called from the goroutine that called LoadPathTo. After a
// workbook fails or a method returns an error, the sink gets no more calls.
type Sink = attack.Sink

// LoadPathTo is LoadPath handing each workbook to sink while it loads
// (sink may be nil). It returns the first error of a workbook in file-name
// order or, when every workbook loaded, the first error of the sink.
func LoadPathTo(path string, sink Sink) ([]*attack.Catalog, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &Error{File: filepath.Base(path), Err: err}
	}
	files := []string{path}
	if st.IsDir() {
		if files, err = filepath.Glob(filepath.Join(path, "*.xlsx")); err != nil {
			return nil, &Error{File: filepath.Base(path), Err: err}
		}
		if len(files) == 0 {
			return nil, &Error{File: filepath.Base(path), Err: errors.New("directory holds no .xlsx workbook")}
		}
	}
	return loadAll(files, sink)
}

type eventKind int

const (
	objectsEvent eventKind = iota
	relationshipsEvent
	doneEvent
)

// event is one call of a Sink, sent by a workbook's loader.
type event struct {
	i    int
	kind eventKind
	cat  *attack.Catalog // objectsEvent, doneEvent (nil when the workbook failed)
	rels []attack.Relationship
	err  error // doneEvent: the workbook's error
}

// events carries one workbook's events to LoadPathTo's goroutine.
type events struct {
	i  int
	ch chan<- event
}

func (e *events) send(ev event) {
	ev.i = e.i
	e.ch <- ev
}

func loadAll(files []string, sink Sink) ([]*attack.Catalog, error) {
	cats := make([]*attack.Catalog, len(files))
	errs := make([]error, len(files))
	var ch chan event
	if sink != nil {
		ch = make(chan event, 64)
	}
	// The largest workbook starts first: enterprise is most of the work,
	// and its shared strings and relationships sheet are each read by one
	// goroutine, so it alone fixes how long the whole takes; the others
	// load beside it. A dispatching goroutine starts the loads, so that
	// this one is free to pass events on to the sink.
	order := make([]int, len(files))
	size := make([]int64, len(files))
	for i, file := range files {
		order[i] = i
		if st, err := os.Stat(file); err == nil {
			size[i] = st.Size()
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(size[b], size[a]) })
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	wg.Add(len(files))
	go func() {
		for _, i := range order {
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				var out *events
				if ch != nil {
					out = &events{i: i, ch: ch}
				}
				cats[i], errs[i] = loadFile(files[i], out)
				if out != nil {
					out.send(event{kind: doneEvent, cat: cats[i], err: errs[i]})
				}
			}()
		}
	}()
	var sinkErr error
	if ch != nil {
		go func() {
			wg.Wait()
			close(ch)
		}()
		failed := false
		for ev := range ch {
			if failed = failed || ev.err != nil || sinkErr != nil; failed {
				continue // drain until every loader is done
			}
			switch ev.kind {
			case objectsEvent:
				sinkErr = sink.Objects(ev.i, ev.cat)
			case relationshipsEvent:
				sinkErr = sink.Relationships(ev.i, ev.rels)
			case doneEvent:
				sinkErr = sink.Done(ev.i, ev.cat)
			}
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if sinkErr != nil {
		return nil, sinkErr
	}
	return cats, nil
}
