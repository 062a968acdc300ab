package nvdserver

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/nvd"
)

var (
	feedOnce sync.Once
	feed     *nvd.Feed
	feedErr  error
)

func realFeed(t testing.TB) *nvd.Feed {
	t.Helper()
	feedOnce.Do(func() {
		feed, feedErr = nvd.LoadFeeds("../../assets/nvd/nvdcve-2.0-2026.json")
	})
	if feedErr != nil {
		t.Fatal(feedErr)
	}
	return feed
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Catalog == nil {
		cfg.Catalog = realFeed(t)
	}
	cfg.Logger = quiet
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestServerValidation(t *testing.T) {
	_, hs := newTestServer(t, Config{Limit: 1000, KeyLimit: 1000, APIKeys: []string{"k1"}})
	tests := []struct {
		query, key string
		status     int
		message    string
	}{
		{"?resultsPerPage=3", "", 200, ""},
		{"?resultsPerPage=3", "k1", 200, ""},
		{"?resultsPerPage=3", "nope", 404, "Invalid apiKey."},
		{"?resultsPerPage=2001", "", 404, "Invalid resultsPerPage parameter: must be an integer between 1 and 2000."},
		{"?lastModStartDate=2026-01-01T00:00:00.000Z", "", 404, "Both start and end dates are required when either is provided."},
		{"?lastModStartDate=2025-01-01T00:00:00.000Z&lastModEndDate=2026-01-01T00:00:00.000Z", "", 404,
			"The date range provided exceeds the maximum allowed range of 120 days."},
		{"?pubStartDate=2026-01-01&pubEndDate=2026-01-02", "", 404, "Invalid ISO 8601 date/time format, see documentation."},
		{"?keywordSearch=x", "", 404, "Invalid parameter: keywordSearch"},
	}
	for _, tt := range tests {
		resp, body := get(t, hs.URL+APIPath+tt.query, map[string]string{"apiKey": tt.key})
		if resp.StatusCode != tt.status || resp.Header.Get("message") != tt.message {
			t.Errorf("%s key %q: %d message %q, want %d %q", tt.query, tt.key, resp.StatusCode,
				resp.Header.Get("message"), tt.status, tt.message)
		}
		if tt.status == 404 && len(body) != 0 {
			t.Errorf("%s: 404 body %q, want empty", tt.query, body)
		}
	}
}

func TestServerPageShape(t *testing.T) {
	_, hs := newTestServer(t, Config{Limit: 1000})
	f := realFeed(t)
	_, body := get(t, hs.URL+APIPath+"?startIndex=1060&resultsPerPage=20&noRejected", nil)
	var p nvd.Page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Format != "NVD_CVE" || p.Version != "2.0" || p.TotalResults != 1069-78 || strings.ContainsAny(p.Timestamp, "Z+") {
		t.Errorf("page head %+v", p)
	}
	_, body = get(t, hs.URL+APIPath+"?cveId=CVE-2026-0544", nil)
	if err := json.Unmarshal(body, &p); err != nil || p.TotalResults != 1 || len(p.Vulnerabilities) != 1 ||
		string(p.Vulnerabilities[0].CVE) != string(f.AppendRaw(nil, mustLookup(t, f, "CVE-2026-0544"))) {
		t.Errorf("cveId page: %v, %+v", err, p.TotalResults)
	}
	_, body = get(t, hs.URL+APIPath+"?cveId=CVE-1999-0001", nil)
	if strings.Contains(string(body), "vulnerabilities") {
		t.Errorf("empty result %s must omit vulnerabilities", body)
	}
}

func mustLookup(t *testing.T, c nvd.Catalog, id string) int {
	i, ok := c.Lookup(id)
	if !ok {
		t.Fatalf("%s not in catalog", id)
	}
	return i
}

func TestServerRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	for _, status := range []int{403, 429} {
		s, hs := newTestServer(t, Config{Limit: 2, KeyLimit: 3, Window: 30 * time.Second, Throttle: status, Now: clock})
		url := hs.URL + APIPath + "?resultsPerPage=1"
		codes := []int{}
		var retryAfter []string
		for _, key := range []string{"", "", "", "k", "k", "k", "k"} {
			resp, _ := get(t, url, map[string]string{"apiKey": key})
			codes = append(codes, resp.StatusCode)
			if ra := resp.Header.Get("Retry-After"); resp.StatusCode == 429 {
				retryAfter = append(retryAfter, ra)
			}
			advance(time.Second)
		}
		want := []int{200, 200, status, 200, 200, 200, status}
		if !slicesEqual(codes, want) {
			t.Errorf("throttle %d: statuses %v, want %v", status, codes, want)
		}
		// Seconds until the oldest request leaves the window: the third
		// anonymous request came 2s after the first, the fourth keyed one 3s.
		if status == 429 && strings.Join(retryAfter, ",") != "28,27" {
			t.Errorf("Retry-After %v, want [28 27]", retryAfter)
		}
		advance(30 * time.Second)
		if resp, _ := get(t, url, nil); resp.StatusCode != 200 {
			t.Errorf("after the window: %d", resp.StatusCode)
		}
		if st := s.Stats(); st.Throttled != 2 || st.MaxPerWin != 3 || st.Requests != 8 {
			t.Errorf("stats %+v", st)
		}
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestControlEndpoints(t *testing.T) {
	s, hs := newTestServer(t, Config{Limit: 1000})
	post := func(body string) int {
		resp, err := http.Post(hs.URL+"/control/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(`{"mode":"503","count":2}`); c != 200 {
		t.Fatalf("POST fault: %d", c)
	}
	if c := post(`[{"mode":"404","message":"Invalid apiKey."},{"mode":"slow","delay_ms":1}]`); c != 200 {
		t.Fatalf("POST fault list: %d", c)
	}
	if c := post(`{"mode":"explode"}`); c != 400 {
		t.Errorf("POST unknown mode: %d, want 400", c)
	}
	statuses := []int{}
	for range 5 {
		resp, _ := get(t, hs.URL+APIPath+"?resultsPerPage=1", nil)
		statuses = append(statuses, resp.StatusCode)
	}
	if want := []int{503, 503, 404, 200, 200}; !slicesEqual(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	post(`{"mode":"403","count":-1}`)
	req, _ := http.NewRequest(http.MethodDelete, hs.URL+"/control/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("DELETE: %v", err)
	}
	if resp, _ := get(t, hs.URL+APIPath+"?resultsPerPage=1", nil); resp.StatusCode != 200 {
		t.Errorf("after DELETE: %d", resp.StatusCode)
	}
	_, body := get(t, hs.URL+"/control/stats", nil)
	var st Stats
	if err := json.Unmarshal(body, &st); err != nil || st != s.Stats() || st.Faults != 4 || st.Pages != 3 {
		t.Errorf("stats %s (%v), want %+v", body, err, s.Stats())
	}
}

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec string
		want []Fault
		err  bool
	}{
		{"", nil, false},
		{"503", []Fault{{Mode: "503", Count: 1}}, false},
		{"429:3:7, truncate:-1:1000", []Fault{{Mode: "429", Count: 3, RetryAfter: 7}, {Mode: "truncate", Count: -1, MinPage: 1000}}, false},
		{"404:1:Invalid apiKey.", []Fault{{Mode: "404", Count: 1, Message: "Invalid apiKey."}}, false},
		{"slow:2:1500", []Fault{{Mode: "slow", Count: 2, DelayMS: 1500}}, false},
		{"boom", nil, true},
		{"503:x", nil, true},
		{"slow:1:x", nil, true},
		{"503:-2", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseFaults(tt.spec)
		if (err != nil) != tt.err || (err != nil && !errors.Is(err, ErrFault)) {
			t.Errorf("ParseFaults(%q) error %v", tt.spec, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParseFaults(%q) = %+v, want %+v", tt.spec, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseFaults(%q)[%d] = %+v, want %+v", tt.spec, i, got[i], tt.want[i])
			}
		}
	}
}

func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{"503", "429:3:7,truncate:-1:1000", "404:1:a:b", "slow:2:1500"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fs, err := ParseFaults(spec)
		if err != nil {
			if !errors.Is(err, ErrFault) {
				t.Fatalf("error %v does not wrap ErrFault", err)
			}
			return
		}
		for _, fl := range fs {
			if fl.Validate() != nil {
				t.Fatalf("accepted invalid %+v", fl)
			}
		}
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("no catalog: %v", err)
	}
	if _, err := New(Config{Catalog: realFeed(t), Throttle: 500}); !errors.Is(err, ErrConfig) {
		t.Errorf("throttle 500: %v", err)
	}
	if _, err := New(Config{Catalog: realFeed(t), Faults: []Fault{{Mode: "x"}}}); !errors.Is(err, ErrFault) {
		t.Errorf("bad fault: %v", err)
	}
}
