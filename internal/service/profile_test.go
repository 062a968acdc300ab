package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartProfile(t *testing.T) {
	dir := t.TempDir()
	stop, err := startProfile("local", func(k string) string {
		if k == ProfileDirEnv {
			return dir
		}
		return ""
	})
	if err != nil || stop == nil {
		t.Fatalf("startProfile: %v, stop %v", err, stop != nil)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "local.pprof")); err != nil || fi.Size() == 0 {
		t.Fatalf("profile: %v %v", fi, err)
	}
	if stop, err := startProfile("local", func(string) string { return "" }); stop != nil || err != nil {
		t.Fatalf("no variable: %v %v", stop != nil, err)
	}
	if _, err := startProfile("local", func(string) string { return filepath.Join(dir, "missing") }); err == nil || !strings.Contains(err.Error(), ProfileDirEnv) {
		t.Fatalf("missing folder: %v", err)
	}
}
