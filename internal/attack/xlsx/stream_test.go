package xlsx

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/v2e/v2e/internal/attack"
)

// recorder is a Sink that checks the order of the calls and keeps what
// it was given.
type recorder struct {
	t       *testing.T
	state   map[int]string // "objects", "done"
	objects map[int]attack.Catalog
	rels    map[int][]attack.Relationship
	done    map[int]*attack.Catalog
	failOn  int // Relationships of this workbook returns an error (-1: never)
	calls   int
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, state: map[int]string{}, objects: map[int]attack.Catalog{},
		rels: map[int][]attack.Relationship{}, done: map[int]*attack.Catalog{}, failOn: -1}
}

var errSink = errors.New("sink refuses")

func (r *recorder) Objects(i int, c *attack.Catalog) error {
	r.calls++
	if r.state[i] != "" {
		r.t.Errorf("workbook %d: Objects after %s", i, r.state[i])
	}
	if len(c.Relationships) != 0 {
		r.t.Errorf("workbook %d: Objects with %d relationships", i, len(c.Relationships))
	}
	r.state[i], r.objects[i] = "objects", *c
	return nil
}

func (r *recorder) Relationships(i int, rels []attack.Relationship) error {
	r.calls++
	if r.state[i] != "objects" {
		r.t.Errorf("workbook %d: Relationships in state %q", i, r.state[i])
	}
	if i == r.failOn {
		return errSink
	}
	r.rels[i] = append(r.rels[i], rels...)
	return nil
}

func (r *recorder) Done(i int, c *attack.Catalog) error {
	r.calls++
	if r.state[i] != "objects" {
		r.t.Errorf("workbook %d: Done in state %q", i, r.state[i])
	}
	r.state[i], r.done[i] = "done", c
	return nil
}

// TestLoadPathTo streams the assets folder to a Sink: each workbook comes
// as its objects, its relationships in batches, then the whole catalog,
// the same catalog LoadPath returns.
func TestLoadPathTo(t *testing.T) {
	r := newRecorder(t)
	cats, err := LoadPathTo(assetsDir, r)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{enterprise18, ics18, mobile18}
	if len(cats) != len(want) || len(r.done) != len(want) {
		t.Fatalf("%d catalogs, %d done, want %d", len(cats), len(r.done), len(want))
	}
	for i, path := range want {
		c := load(t, path)
		if !reflect.DeepEqual(cats[i], c) || r.done[i] != cats[i] {
			t.Errorf("workbook %d: catalog differs from Load(%s)", i, path)
		}
		if !reflect.DeepEqual(r.rels[i], c.Relationships) {
			t.Errorf("workbook %d: %d relationships streamed, want %d (the catalog's, in order)", i, len(r.rels[i]), len(c.Relationships))
		}
		objects := *c
		objects.Relationships = nil
		if !reflect.DeepEqual(r.objects[i], objects) {
			t.Errorf("workbook %d: Objects got a catalog other than Load's without relationships", i)
		}
	}
	if n := len(r.rels[0]); n <= relBatch {
		t.Fatalf("enterprise has %d relationships: the test wants more than one batch", n)
	}
}

// TestLoadPathToErrors: the error of the first failing workbook in
// file-name order wins over the sink's, and a sink error stops the calls.
func TestLoadPathToErrors(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []struct {
		src, dst string
		thirds   int
	}{{mobile18, "a-mobile-attack-v18.1.xlsx", 3}, {ics18, "b-ics-attack-v18.1.xlsx", 2}} {
		data, err := os.ReadFile(f.src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.dst), data[:len(data)*f.thirds/3], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := newRecorder(t)
	r.failOn = 0
	cats, err := LoadPathTo(dir, r)
	var werr *Error
	if cats != nil || !errors.As(err, &werr) || werr.File != "b-ics-attack-v18.1.xlsx" {
		t.Fatalf("LoadPathTo with a truncated workbook = %v, %v", cats, err)
	}
	if r.state[1] != "" {
		t.Errorf("the truncated workbook reached the sink: %q", r.state[1])
	}

	good := t.TempDir()
	data, err := os.ReadFile(mobile18)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(good, "mobile-attack-v18.1.xlsx"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r = newRecorder(t)
	r.failOn = 0
	if _, err := LoadPathTo(good, r); !errors.Is(err, errSink) {
		t.Fatalf("sink error: got %v", err)
	}
	if r.calls != 2 || r.state[0] != "objects" {
		t.Errorf("after the sink's error: %d calls, state %q; want 2 calls (Objects, the failing Relationships)", r.calls, r.state[0])
	}
}
