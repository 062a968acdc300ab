package assets

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestConfinePath(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "assets")
	must(t, os.MkdirAll(filepath.Join(root, "cwe"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "cwe", "cwe.xml"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(base, "secret"), []byte("s"), 0o644))
	must(t, os.Symlink(filepath.Join(base, "secret"), filepath.Join(root, "escape")))
	must(t, os.Symlink(filepath.Join(root, "cwe", "cwe.xml"), filepath.Join(root, "inside")))
	realRoot, err := filepath.EvalSymlinks(root)
	must(t, err)
	want := filepath.Join(realRoot, "cwe", "cwe.xml")

	tests := []struct {
		name    string
		p       string
		want    string
		outside bool
		anyErr  bool
	}{
		{name: "relative", p: "cwe/cwe.xml", want: want},
		{name: "dot segments inside", p: "cwe/../cwe/./cwe.xml", want: want},
		{name: "absolute inside", p: filepath.Join(root, "cwe", "cwe.xml"), want: want},
		{name: "symlink inside", p: "inside", want: want},
		{name: "parent escape", p: "../secret", outside: true},
		{name: "parent escape missing file", p: "../../etc/nothing", outside: true},
		{name: "absolute elsewhere", p: filepath.Join(base, "secret"), outside: true},
		{name: "symlink escape", p: "escape", outside: true},
		{name: "missing inside", p: "cwe/none.xml", anyErr: true},
		{name: "empty", p: "", anyErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfinePath(root, tc.p)
			switch {
			case tc.outside:
				if !errors.Is(err, ErrOutsideRoot) {
					t.Fatalf("ConfinePath(%q) = %q, %v; want ErrOutsideRoot", tc.p, got, err)
				}
			case tc.anyErr:
				if err == nil || errors.Is(err, ErrOutsideRoot) {
					t.Fatalf("ConfinePath(%q) = %q, %v; want a not-found error", tc.p, got, err)
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("ConfinePath(%q) = %q, %v; want %q", tc.p, got, err, tc.want)
				}
			}
		})
	}
}

func TestConfinePathMissingRoot(t *testing.T) {
	if _, err := ConfinePath(filepath.Join(t.TempDir(), "nope"), "x"); err == nil {
		t.Fatal("want error for a missing root")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
