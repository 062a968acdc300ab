package nvd_test

import (
	"bytes"
	"context"
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
	"github.com/v2e/v2e/internal/nvdserver"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// loopback starts an nvdserver over cat (both real feeds when nil).
func loopback(t testing.TB, cfg nvdserver.Config) (*nvdserver.Server, string) {
	t.Helper()
	if cfg.Catalog == nil {
		cfg.Catalog = nvd.TestFeeds(t)[2]
	}
	cfg.Logger = quiet
	srv, err := nvdserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, hs.URL + nvdserver.APIPath
}

// clock is an injected clock whose Sleep returns at once and records.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// fastClient is a client on an injected clock whose pacer never waits, so
// every recorded sleep is a backoff.
func fastClient(url string, clk *clock, mod func(*nvd.Config)) *nvd.Client {
	cfg := nvd.Config{BaseURL: url, RequestsPerWindow: 1000, MaxAttempts: 6, BackoffBase: time.Second,
		BackoffMax: time.Minute, Now: clk.Now, Sleep: clk.Sleep, Jitter: func() float64 { return 0.5 }, Logger: quiet}
	if mod != nil {
		mod(&cfg)
	}
	return nvd.NewClient(cfg)
}

// wantPage checks that p holds exactly records [start, start+n) of cat.
func wantPage(t *testing.T, p nvd.Page, cat nvd.Catalog, start, n int) {
	t.Helper()
	if p.StartIndex != start || len(p.Vulnerabilities) != n || p.TotalResults != cat.Len() {
		t.Fatalf("page startIndex %d, %d items, total %d; want %d, %d, %d",
			p.StartIndex, len(p.Vulnerabilities), p.TotalResults, start, n, cat.Len())
	}
	for k, v := range p.Vulnerabilities {
		if want := cat.AppendRaw(nil, start+k); !bytes.Equal(v.CVE, want) {
			t.Fatalf("item %d differs from record %s", k, cat.ID(start+k))
		}
	}
}

func TestClientRetriesTransientFailures(t *testing.T) {
	tests := []struct {
		fault  nvdserver.Fault
		sleeps []time.Duration // expected backoff sleeps
		mod    func(*nvd.Config)
	}{
		{nvdserver.Fault{Mode: "403", Count: 2}, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}, nil},
		{nvdserver.Fault{Mode: "429", Count: 1, RetryAfter: 7}, []time.Duration{7 * time.Second}, nil},
		{nvdserver.Fault{Mode: "502", Count: 1}, []time.Duration{750 * time.Millisecond}, nil},
		{nvdserver.Fault{Mode: "503", Count: 3}, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}, nil},
		{nvdserver.Fault{Mode: "504", Count: 1}, []time.Duration{750 * time.Millisecond}, nil},
		{nvdserver.Fault{Mode: "truncate", Count: 2}, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}, nil},
		{nvdserver.Fault{Mode: "novulns", Count: 1}, []time.Duration{750 * time.Millisecond}, nil},
		{nvdserver.Fault{Mode: "short", Count: 1}, []time.Duration{750 * time.Millisecond}, nil},
		// Without keep-alive, so that net/http does not replay the GET itself
		// on a reused connection.
		{nvdserver.Fault{Mode: "reset", Count: 2}, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond},
			func(c *nvd.Config) { c.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} }},
		{nvdserver.Fault{Mode: "slow", Count: 1, DelayMS: 2000}, []time.Duration{750 * time.Millisecond},
			// Well under the delay, and time enough for an ordinary answer on a
			// loaded machine (with 50 ms the retry timed out too under -race).
			func(c *nvd.Config) { c.RequestTimeout = time.Second }},
	}
	srv, url := loopback(t, nvdserver.Config{Limit: 1000, KeyLimit: 1000, Window: time.Second})
	cat := nvd.TestFeeds(t)[2]
	for _, tt := range tests {
		t.Run(tt.fault.Mode, func(t *testing.T) {
			srv.ClearFaults()
			if err := srv.AddFaults(tt.fault); err != nil {
				t.Fatal(err)
			}
			clk := newClock()
			c := fastClient(url, clk, tt.mod)
			p, err := c.FetchPage(context.Background(), nvd.Query{StartIndex: 100, ResultsPerPage: 50})
			if err != nil {
				t.Fatalf("FetchPage: %v", err)
			}
			wantPage(t, p, cat, 100, 50)
			if got := clk.Sleeps(); !equalDurations(got, tt.sleeps) {
				t.Errorf("backoff sleeps %v, want %v", got, tt.sleeps)
			}
			if st := c.Stats(); st.Attempts != len(tt.sleeps)+1 {
				t.Errorf("%d attempts, want %d", st.Attempts, len(tt.sleeps)+1)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
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

func TestClientSurfaces404Message(t *testing.T) {
	srv, url := loopback(t, nvdserver.Config{Limit: 1000, KeyLimit: 1000, Window: time.Second, APIKeys: []string{"good-key"}})
	clk := newClock()
	c := fastClient(url, clk, func(c *nvd.Config) { c.APIKey = "bad-key" })
	_, err := c.FetchPage(context.Background(), nvd.Query{ResultsPerPage: 10})
	if !errors.Is(err, nvd.ErrRejected) || !strings.Contains(err.Error(), "HTTP 404 Not Found: Invalid apiKey.") {
		t.Errorf("bad key: %v, want ErrRejected with the message header", err)
	}
	srv.AddFaults(nvdserver.Fault{Mode: "404", Message: "Invalid ISO 8601 date/time format, see documentation."})
	good := fastClient(url, clk, func(c *nvd.Config) { c.APIKey = "good-key" })
	_, err = good.FetchPage(context.Background(), nvd.Query{ResultsPerPage: 10})
	if !errors.Is(err, nvd.ErrRejected) || !strings.HasSuffix(err.Error(), ": Invalid ISO 8601 date/time format, see documentation.") {
		t.Errorf("404 fault: %v", err)
	}
	if n := len(clk.Sleeps()); n != 0 || c.Stats().Attempts != 1 || good.Stats().Attempts != 1 {
		t.Errorf("a 404 was retried: %d sleeps", n)
	}
}

func TestClientGivesUpWithNVDsAnswer(t *testing.T) {
	srv, url := loopback(t, nvdserver.Config{Limit: 1000, KeyLimit: 1000, Window: time.Second})
	tests := []struct {
		name   string
		fault  nvdserver.Fault
		mod    func(*nvd.Config)
		want   []string
		sleeps int
	}{
		{"attempts", nvdserver.Fault{Mode: "503", Count: -1}, func(c *nvd.Config) { c.MaxAttempts = 3 },
			[]string{"after 3 attempts", "NVD answered HTTP 503 Service Unavailable: 503 Service Unavailable"}, 2},
		{"time", nvdserver.Fault{Mode: "short", Count: -1},
			func(c *nvd.Config) { c.BackoffBase = 40 * time.Second; c.MaxRetryTime = 60 * time.Second },
			[]string{"after 2 attempts", "NVD answered HTTP 200 OK", "25 vulnerabilities, expected 50"}, 1},
		{"throttled", nvdserver.Fault{Mode: "429", Count: -1, RetryAfter: 30}, func(c *nvd.Config) { c.MaxRetryTime = 45 * time.Second },
			[]string{"after 2 attempts", "HTTP 429 Too Many Requests"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.AddFaults(tt.fault)
			clk := newClock()
			c := fastClient(url, clk, tt.mod)
			p, err := c.FetchPage(context.Background(), nvd.Query{StartIndex: 10, ResultsPerPage: 50})
			if !errors.Is(err, nvd.ErrGaveUp) || p.Vulnerabilities != nil {
				t.Fatalf("FetchPage = %d items, %v; want no page and ErrGaveUp", len(p.Vulnerabilities), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if n := len(clk.Sleeps()); n != tt.sleeps {
				t.Errorf("%d sleeps, want %d", n, tt.sleeps)
			}
		})
	}
	srv.ClearFaults()
}

func TestClientShrinksAndGrowsPageSize(t *testing.T) {
	srv, url := loopback(t, nvdserver.Config{Limit: 1000, KeyLimit: 1000, Window: time.Second})
	// Pages of 1000 items or more are always cut off.
	srv.AddFaults(nvdserver.Fault{Mode: "truncate", Count: -1, MinPage: 1000})
	clk := newClock()
	c := fastClient(url, clk, func(c *nvd.Config) { c.MaxAttempts = 10; c.GrowAfter = 2 })
	p, err := c.FetchPage(context.Background(), nvd.Query{})
	if err != nil {
		t.Fatal(err)
	}
	cat := nvd.TestFeeds(t)[2]
	// 2000 fails twice -> 1000 fails twice -> 500 succeeds.
	wantPage(t, p, cat, 0, 500)
	if st := c.Stats(); st.PageSize != 500 || st.Attempts != 5 {
		t.Errorf("after failures: %+v, want page size 500 after 5 attempts", st)
	}
	srv.ClearFaults()
	sizes := []int{}
	for start := 500; start < cat.Len(); {
		p, err := c.FetchPage(context.Background(), nvd.Query{StartIndex: start})
		if err != nil {
			t.Fatal(err)
		}
		wantPage(t, p, cat, start, min(c.Stats().PageSize, cat.Len()-start, len(p.Vulnerabilities)))
		sizes = append(sizes, len(p.Vulnerabilities))
		start += len(p.Vulnerabilities)
	}
	if c.PageSize() != 2000 {
		t.Errorf("page size %d after successes (pages %v), want 2000 again", c.PageSize(), sizes)
	}
}

func TestClientPacesWithInjectedClock(t *testing.T) {
	_, url := loopback(t, nvdserver.Config{Limit: 1000, KeyLimit: 1000, Window: time.Second})
	clk := newClock()
	start := clk.Now()
	c := fastClient(url, clk, func(c *nvd.Config) { c.RequestsPerWindow = 2; c.Window = 30 * time.Second })
	for i := range 5 {
		if _, err := c.FetchPage(context.Background(), nvd.Query{StartIndex: i, ResultsPerPage: 1}); err != nil {
			t.Fatal(err)
		}
	}
	// Requests 3-4 wait for the first window, request 5 for the second.
	if got := clk.Now().Sub(start); got < 60*time.Second || got > 61*time.Second {
		t.Errorf("5 requests at 2 per 30s took %v of injected time, want 60s", got)
	}
}

func TestClientGetCVEAndCount(t *testing.T) {
	_, url := loopback(t, nvdserver.Config{Limit: 1000, KeyLimit: 1000, Window: time.Second})
	c := fastClient(url, newClock(), nil)
	ctx := context.Background()
	raw, err := c.GetCVE(ctx, "CVE-2003-0013")
	if err != nil || !bytes.HasPrefix(raw, []byte(`{"id":"CVE-2003-0013"`)) {
		t.Errorf("GetCVE = %.40s, %v", raw, err)
	}
	if _, err := c.GetCVE(ctx, "CVE-2003-9999999"); !errors.Is(err, nvd.ErrNotFound) {
		t.Errorf("GetCVE(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := c.GetCVE(ctx, "CVE-03-1"); !errors.Is(err, nvd.ErrInvalidQuery) {
		t.Errorf("GetCVE(malformed) = %v, want ErrInvalidQuery", err)
	}
	if n, err := c.Count(ctx); n != 2624 || err != nil {
		t.Errorf("Count = %d, %v; want 2624", n, err)
	}
}

// TestFullFetchEqualsFeeds fetches both real feeds through the loopback
// server under a real, compressed rate limit and checks every record and
// that NVD never had to throttle.
func TestFullFetchEqualsFeeds(t *testing.T) {
	const limit, window = 5, 40 * time.Millisecond
	srv, url := loopback(t, nvdserver.Config{Limit: limit, Window: window})
	c := nvd.NewClient(nvd.Config{BaseURL: url, Window: window, RequestsPerWindow: limit, Logger: quiet})
	var got [][]byte
	err := nvd.Walk(context.Background(), c, nvd.Query{ResultsPerPage: 200}, nvd.WalkOptions{Workers: limit},
		func(p nvd.Page) error {
			for _, v := range p.Vulnerabilities {
				got = append(got, v.CVE)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	fs := nvd.TestFeeds(t)
	want := append(fs[0].Records(), fs[1].Records()...)
	if len(got) != len(want) || len(got) != 1555+1069 {
		t.Fatalf("fetched %d records, feeds hold %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i].Raw) {
			t.Fatalf("record %d: fetched %.40s, feed has %s", i, got[i], want[i].ID)
		}
	}
	st := srv.Stats()
	if st.Throttled != 0 || st.MaxPerWin > limit || c.Stats().Retries != 0 {
		t.Errorf("server %+v, client %+v: the client provoked throttling", st, c.Stats())
	}
	if st.Requests != 14 {
		t.Errorf("%d requests for 2624 records at 200 per page, want 14", st.Requests)
	}
}

// TestWalkLongRangeThroughServer walks 400 days of lastModified dates: the
// server refuses ranges over 120 days, so this passes only if Walk splits.
func TestWalkLongRangeThroughServer(t *testing.T) {
	_, url := loopback(t, nvdserver.Config{Limit: 1000, KeyLimit: 1000, Window: time.Second})
	c := fastClient(url, newClock(), nil)
	end := time.Date(2026, 5, 1, 0, 0, 0, 0, time.FixedZone("EST", -5*3600))
	start := end.Add(-400 * 24 * time.Hour)
	want := 0
	for _, r := range nvd.TestFeeds(t)[2].Records() {
		if !r.LastModified.Before(start) && !r.LastModified.After(end) {
			want++
		}
	}
	seen := map[string]bool{}
	err := nvd.Walk(context.Background(), c, nvd.Query{LastModStart: start, LastModEnd: end, ResultsPerPage: 300},
		nvd.WalkOptions{Workers: 2}, func(p nvd.Page) error {
			for _, v := range p.Vulnerabilities {
				_, rest, _ := bytes.Cut(v.CVE, []byte(`"id":"`))
				id, _, _ := bytes.Cut(rest, []byte(`"`))
				seen[string(id)] = true
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if want == 0 || len(seen) != want {
		t.Errorf("walk saw %d CVEs, %d were modified in range", len(seen), want)
	}
	if _, err := c.FetchPage(context.Background(), nvd.Query{LastModStart: start, LastModEnd: end}); !errors.Is(err, nvd.ErrInvalidQuery) {
		t.Errorf("FetchPage over 400 days = %v, want ErrInvalidQuery", err)
	}
}

func TestClientStopsWithContext(t *testing.T) {
	srv, url := loopback(t, nvdserver.Config{Limit: 1000, KeyLimit: 1000, Window: time.Second})
	srv.AddFaults(nvdserver.Fault{Mode: "slow", Count: -1, DelayMS: 5000})
	defer srv.ClearFaults()
	c := nvd.NewClient(nvd.Config{BaseURL: url, RequestsPerWindow: 1000, Logger: quiet})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.FetchPage(ctx, nvd.Query{ResultsPerPage: 10})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nvd.ErrGaveUp) {
		t.Errorf("FetchPage = %v, want the context's error", err)
	}
	if st := c.Stats(); st.Attempts != 0 || st.PageSize != 2000 {
		t.Errorf("a cancelled call counted as an NVD failure: %+v", st)
	}
}
