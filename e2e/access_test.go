package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/v2e/v2e/internal/apidoc"
)

var update = flag.Bool("update", false, "rewrite docs/api.md from the running platform's RPCListMethods (TestAPIDoc)")

// TestAPIDoc starts the platform, renders the method catalogue it announces
// and fails when the committed docs/api.md differs. Regenerate it with
// go test ./e2e -run TestAPIDoc -update
func TestAPIDoc(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	var raw json.RawMessage
	p.MustCall("broker", "RPCListMethods", nil, &raw)
	cat, err := apidoc.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"local", "remote", "meta", "sysmon"} {
		if len(cat.Processes[id]) == 0 {
			t.Errorf("%s announced no method", id)
		}
	}
	got := apidoc.Render(cat, apidoc.RegenCommand)
	path := filepath.Join(repoRoot, "docs", "api.md")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("docs/api.md is not current (%v); regenerate it with: %s", err, apidoc.RegenCommand)
	}
}
