package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/nvd"
	"github.com/v2e/v2e/internal/nvdserver"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var (
	feedOnce sync.Once
	feed     *nvd.Feed
	feedErr  error
)

func realFeed(t *testing.T) *nvd.Feed {
	t.Helper()
	feedOnce.Do(func() { feed, feedErr = nvd.LoadFeeds("../../assets/nvd/nvdcve-2.0-2026.json") })
	if feedErr != nil {
		t.Fatal(feedErr)
	}
	return feed
}

// connect runs the remote service and a caller service on crossed pipes
// (standing in for the broker, which forwards lines unchanged) and returns
// the caller.
func connect(t *testing.T, h Handlers) *service.Service {
	t.Helper()
	remote := service.New("remote", service.Options{Logger: quiet})
	h.Register(remote)
	caller := service.New("meta", service.Options{Logger: quiet})
	toRemoteR, toRemoteW, _ := os.Pipe()
	toCallerR, toCallerW, _ := os.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { remote.Run(ctx, toRemoteR, &skipFirst{w: toCallerW}) })
	wg.Go(func() { caller.Run(ctx, toCallerR, &skipFirst{w: toRemoteW}) })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if err := caller.Emit("remote", "test_ping", nil); !errors.Is(err, service.ErrNotConnected) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("caller never connected")
		}
	}
	t.Cleanup(func() {
		cancel()
		toRemoteW.Close()
		toCallerW.Close()
		wg.Wait()
	})
	return caller
}

// skipFirst drops a service's first line, its ready event for the broker.
// It drops a line, not a write: the service's writer may gather the ready
// event and the first answer into one write (it yields before writing), and
// dropping that whole write lost the answer (TestErrors timed out once).
type skipFirst struct {
	mu      sync.Mutex
	w       io.Writer
	skipped bool
}

func (s *skipFirst) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.skipped {
		return s.w.Write(p)
	}
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return len(p), nil // still inside the first line
	}
	s.skipped = true
	if rest := p[i+1:]; len(rest) > 0 {
		if n, err := s.w.Write(rest); err != nil {
			return i + 1 + n, err
		}
	}
	return len(p), nil
}

func call(t *testing.T, c *service.Service, method string, params any) (map[string]json.RawMessage, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out map[string]json.RawMessage
	err := c.Call(ctx, "remote", method, params, &out)
	return out, err
}

func TestMethodsOverFeed(t *testing.T) {
	f := realFeed(t)
	c := connect(t, Handlers{Source: f})
	out, err := call(t, c, "RPCGetCVEByID", map[string]any{"cve_id": " cve-2026-0544 "})
	if err != nil {
		t.Fatal(err)
	}
	var vulns []nvd.Vulnerability
	json.Unmarshal(out["vulnerabilities"], &vulns)
	i, _ := f.Lookup("CVE-2026-0544")
	if len(vulns) != 1 || string(vulns[0].CVE) != string(f.Records()[i].Raw) {
		t.Errorf("RPCGetCVEByID: %d vulnerabilities", len(vulns))
	}
	if out, err = call(t, c, "RPCGetCVEByID", map[string]any{"cve_id": "CVE-1999-0001"}); err != nil || string(out["vulnerabilities"]) != "[]" {
		t.Errorf("unknown CVE: %s, %v; want []", out["vulnerabilities"], err)
	}
	if out, err = call(t, c, "RPCGetCVECnt", nil); err != nil || string(out["total_results"]) != "1069" {
		t.Errorf("RPCGetCVECnt: %s, %v", out["total_results"], err)
	}
	out, err = call(t, c, "RPCFetchCVEs", map[string]any{"start_index": 1000, "results_per_page": 50})
	if err != nil || string(out["result_count"]) != "50" || string(out["total_results"]) != "1069" {
		t.Errorf("RPCFetchCVEs: count %s total %s, %v", out["result_count"], out["total_results"], err)
	}
	out, err = call(t, c, "RPCFetchCVEs", map[string]any{"results_per_page": 2000,
		"last_mod_start_date": "2026-01-01T00:00:00.000", "last_mod_end_date": "2026-03-01T00:00:00+00:00"})
	want := 0
	for _, r := range f.Records() {
		if !r.LastModified.Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) && !r.LastModified.After(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
			want++
		}
	}
	if err != nil || string(out["total_results"]) != itoa(want) || want == 0 {
		t.Errorf("RPCFetchCVEs by date: total %s, want %d, %v", out["total_results"], want, err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestErrors(t *testing.T) {
	c := connect(t, Handlers{Source: realFeed(t)})
	tests := []struct {
		method string
		params any
		code   *rpc.Error
		text   string
	}{
		{"RPCGetCVEByID", map[string]any{}, rpc.Invalid, "cve_id is required"},
		{"RPCGetCVEByID", map[string]any{"cve_id": "CVE-99"}, rpc.Invalid, "Invalid cveId parameter."},
		{"RPCFetchCVEs", map[string]any{"start_index": "x"}, rpc.Invalid, `field "start_index"`},
		{"RPCFetchCVEs", map[string]any{"results_per_page": 5000}, rpc.Invalid, "between 1 and 2000"},
		{"RPCFetchCVEs", map[string]any{"last_mod_start_date": "2026-01-01T00:00:00Z"}, rpc.Invalid, "go together"},
		{"RPCFetchCVEs", map[string]any{"last_mod_start_date": "yesterday", "last_mod_end_date": "today"}, rpc.Invalid, `"yesterday" is not an ISO-8601 date`},
		{"RPCFetchCVEs", map[string]any{"last_mod_start_date": "2025-01-01T00:00:00Z", "last_mod_end_date": "2026-01-01T00:00:00Z"},
			rpc.Invalid, "maximum allowed range of 120 days"},
		{"RPCFetchViews", nil, rpc.Unavailable, "view_fetch_url is not configured"},
		{"RPCNope", nil, rpc.NotFound, "no handler found for method: RPCNope"},
	}
	for _, tt := range tests {
		_, err := call(t, c, tt.method, tt.params)
		if !errors.Is(err, tt.code) || err == nil || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s %v: error %v, want code %s containing %q", tt.method, tt.params, err, tt.code.Code, tt.text)
		}
	}
	if _, err := call(t, c, "RPCFetchViews", nil); err == nil || err.Error() != "view_fetch_url is not configured" {
		t.Errorf("RPCFetchViews: %q, want exactly the contract's text", err)
	}
}

// TestMethodsOverNVDClient drives the handlers through the HTTP client and
// the loopback server, including an NVD 404 and a page that keeps failing.
func TestMethodsOverNVDClient(t *testing.T) {
	srv, err := nvdserver.New(nvdserver.Config{Catalog: realFeed(t), Limit: 1000, Window: time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	client := nvd.NewClient(nvd.Config{BaseURL: hs.URL + nvdserver.APIPath, RequestsPerWindow: 1000, MaxAttempts: 2,
		BackoffBase: time.Millisecond, Logger: quiet})
	c := connect(t, Handlers{Source: client})
	out, err := call(t, c, "RPCFetchCVEs", map[string]any{"start_index": 10, "results_per_page": 5})
	if err != nil || string(out["result_count"]) != "5" {
		t.Fatalf("RPCFetchCVEs: %v %v", out["result_count"], err)
	}
	srv.AddFaults(nvdserver.Fault{Mode: "404", Message: "Invalid apiKey."})
	if _, err := call(t, c, "RPCGetCVECnt", nil); !errors.Is(err, rpc.Invalid) || !strings.HasSuffix(err.Error(), "HTTP 404 Not Found: Invalid apiKey.") {
		t.Errorf("404: %v", err)
	}
	srv.AddFaults(nvdserver.Fault{Mode: "503", Count: -1})
	if _, err := call(t, c, "RPCGetCVEByID", map[string]any{"cve_id": "CVE-2026-0544"}); !errors.Is(err, rpc.Unavailable) ||
		!strings.Contains(err.Error(), "NVD answered HTTP 503") {
		t.Errorf("503 forever: %v", err)
	}
}

// TestFetchAnswer checks the hand-written RPCFetchCVEs result against what
// encoding/json makes of the same page, for real records, an indented one
// (compacted: a message is one line) and an empty page.
// Records without line breaks go out byte for byte.
func TestFetchAnswer(t *testing.T) {
	recs := realFeed(t).Records()
	var indented bytes.Buffer
	if err := json.Indent(&indented, recs[1].Raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		page nvd.Page
	}{
		{"records", nvd.Page{StartIndex: 7, TotalResults: 1069, Vulnerabilities: []nvd.Vulnerability{{CVE: recs[0].Raw}, {CVE: recs[2].Raw}}}},
		{"indented", nvd.Page{TotalResults: 1, Vulnerabilities: []nvd.Vulnerability{{CVE: indented.Bytes()}}}},
		{"empty", nvd.Page{StartIndex: 1069, TotalResults: 1069}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fetchAnswer(tt.page)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "records" && !bytes.Contains(got, recs[2].Raw) {
				t.Errorf("record not passed byte for byte")
			}
			if bytes.ContainsAny(got, "\r\n") {
				t.Errorf("answer holds a line break")
			}
			want, _ := json.Marshal(map[string]any{"vulnerabilities": vulns(tt.page), "total_results": tt.page.TotalResults,
				"result_count": len(tt.page.Vulnerabilities), "start_index": tt.page.StartIndex})
			// encoding/json also escapes <, > and & in records; the
			// answer keeps them as the source sent them: equal as JSON.
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			_ = json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("answer\n%.300s\nwant\n%.300s", got, want)
			}
		})
	}
}
