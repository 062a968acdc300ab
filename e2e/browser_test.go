package e2e

// The web UI in a real browser: the platform started by the broker with the
// built website (website/out), real CVE records saved from the bundled NVD
// feed, CVE syncs served by the loopback NVD server, and
// website/e2e/browser.mjs driving Debian's headless Chromium through
// playwright-core. Each check of the script is a subtest; a check whose
// backend method is not there yet is skipped with a message naming it.
//
// Set V2E_SCREENSHOTS=1 to write the screenshots to docs/screenshots/.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// browserRequirements returns why the browser test cannot run here, or "".
func browserRequirements(chromium string) string {
	site := filepath.Join(repoRoot, "website", "out", "index.html")
	if _, err := os.Stat(site); err != nil {
		return "website/out/index.html is missing: build the website first (./build.sh -t does)"
	}
	if _, err := os.Stat(chromium); err != nil {
		return chromium + " is missing: apt-get install chromium (./build.sh -t does)"
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "node is missing: apt-get install nodejs npm (./build.sh -t does)"
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "website", "node_modules", "playwright-core")); err != nil {
		return "website/node_modules/playwright-core is missing: cd website && npm ci"
	}
	return ""
}

// startNVDServer runs the loopback NVD API over the bundled 2026 feed and
// returns its base URL.
func startNVDServer(t *testing.T, feed string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "nvdserver"), "-data", feed, "-addr", "127.0.0.1:0", "-print-addr", "-limit", "100000", "-window", "1s")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- strings.TrimSpace(sc.Text())
		}
		close(line)
		_, _ = io.Copy(io.Discard, out) // drain until nvdserver exits
	}()
	select {
	case u, ok := <-line:
		if !ok || !strings.HasPrefix(u, "http") {
			t.Fatalf("nvdserver printed %q; stderr: %s", u, stderr.String())
		}
		return u
	case <-time.After(30 * time.Second):
		t.Fatalf("nvdserver did not print its address; stderr: %s", stderr.String())
	}
	return ""
}

// saveFeed stores every record of an NVD 2.0 feed file through
// RPCSaveCVEs, in batches under access's body limit, and returns how many.
func saveFeed(t *testing.T, p *Platform, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var feed struct {
		Vulnerabilities []struct {
			CVE json.RawMessage `json:"cve"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &feed); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	const maxBatch = 900 << 10
	var batch []json.RawMessage
	size := 0
	flush := func() {
		if len(batch) > 0 {
			p.MustCall("local", "RPCSaveCVEs", map[string]any{"cves": batch}, nil)
		}
		batch, size = nil, 0
	}
	for _, v := range feed.Vulnerabilities {
		if size+len(v.CVE) > maxBatch {
			flush()
		}
		batch = append(batch, v.CVE)
		size += len(v.CVE)
	}
	flush()
	return len(feed.Vulnerabilities)
}

// waitImports waits until each catalogue that local serves has records
// (meta imports them at startup) or meta's provider for it has stopped
// (an import that failed: the browser check then names the cause), at most
// d in all. Without meta's ETL tree nothing imports, so nothing is waited for.
func waitImports(t *testing.T, p *Platform, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	lists := map[string]string{"cwe": "RPCListCWEs", "capec": "RPCListCAPECs", "attack": "RPCListAttackTechniques"}
	for provider, method := range lists {
		for {
			var page struct{ Total int }
			err := p.Call("local", method, map[string]any{"limit": 1}, &page)
			if (err != nil && strings.Contains(err.Error(), "no handler found")) || (err == nil && page.Total > 0) {
				break
			}
			var tree struct {
				Providers []struct {
					ID        string `json:"id"`
					State     string `json:"state"`
					LastError string `json:"last_error"`
				} `json:"providers"`
			}
			if err := p.Call("meta", "RPCGetEtlTree", nil, &tree); err != nil {
				t.Logf("no catalogue import to wait for: %v", err)
				return
			}
			stopped := false
			for _, pr := range tree.Providers {
				if pr.ID == provider && pr.State == "TERMINATED" {
					stopped = true
					if pr.LastError != "" {
						t.Logf("provider %s stopped: %s", provider, pr.LastError)
					}
				}
			}
			if stopped {
				break
			}
			if time.Now().After(deadline) {
				t.Logf("%s still answers %d records (err %v) after %s", method, page.Total, err, d)
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

type browserResult struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func TestBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if why := browserRequirements(chromium); why != "" {
		t.Skip(why)
	}
	feed := filepath.Join(repoRoot, "assets", "nvd", "nvdcve-2.0-2026.json")
	cfg := DefaultConfig(t)
	cfg["remote"] = map[string]any{"nvd_base_url": startNVDServer(t, feed)}
	cfg["meta"] = map[string]any{"startup_imports": true} // the real catalogues, as a user gets them
	p := Start(t, cfg)

	n := saveFeed(t, p, feed)
	var count struct{ Count int }
	p.MustCall("local", "RPCCountCVEs", nil, &count)
	if count.Count != n {
		t.Fatalf("RPCCountCVEs = %d after saving the %d records of %s", count.Count, n, feed)
	}

	waitImports(t, p, 3*time.Minute)

	shots := t.TempDir()
	if os.Getenv("V2E_SCREENSHOTS") == "1" {
		shots = filepath.Join(repoRoot, "docs", "screenshots")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "e2e/browser.mjs")
	cmd.Dir = filepath.Join(repoRoot, "website")
	cmd.Env = append(os.Environ(), "V2E_URL="+p.URL, "CHROMIUM="+chromium, "SCREENSHOT_DIR="+shots)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()

	var results []browserResult
	var other []string
	for _, line := range strings.Split(string(out), "\n") {
		if js, ok := strings.CutPrefix(line, "RESULT "); ok {
			var r browserResult
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				t.Fatalf("bad result line %q: %v", line, err)
			}
			results = append(results, r)
		} else if strings.TrimSpace(line) != "" {
			other = append(other, line)
		}
	}
	if len(results) == 0 {
		t.Fatalf("the browser script reported nothing (%v)\nstdout:\n%s\nstderr:\n%s", runErr, out, stderr.String())
	}
	failed := false
	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			switch r.Status {
			case "pass":
			case "skip":
				t.Skip(r.Message)
			default:
				failed = true
				t.Error(r.Message)
			}
		})
	}
	if runErr != nil && !failed {
		t.Errorf("the browser script failed without a failed check: %v\n%s\n%s", runErr, strings.Join(other, "\n"), stderr.String())
	}
	if failed {
		t.Logf("browser script output:\n%s\n%s", strings.Join(other, "\n"), stderr.String())
	}
}
