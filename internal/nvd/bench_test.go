package nvd_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/nvd"
	"github.com/v2e/v2e/internal/nvdserver"
)

// sendLog is a RoundTripper that records when each request is sent and
// how long its response headers took.
type sendLog struct {
	mu    sync.Mutex
	sent  []time.Time
	waits []time.Duration
	inner http.RoundTripper
}

func (l *sendLog) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := l.inner.RoundTrip(r)
	l.mu.Lock()
	l.sent = append(l.sent, start)
	l.waits = append(l.waits, time.Since(start))
	l.mu.Unlock()
	return resp, err
}

func (l *sendLog) meanWait() time.Duration {
	var sum time.Duration
	for _, w := range l.waits {
		sum += w
	}
	return sum / time.Duration(max(len(l.waits), 1))
}

// BenchmarkFullFetch fetches every record of a generated catalog through
// the loopback server, whose rate limit uses a compressed window, and
// reports how close the client came to the allowed rate and how often the
// server had to throttle it (the goal: rate ≥ 95 %, zero throttles).
//
//	go test -run '^$' -bench FullFetch -benchtime 1x ./internal/nvd/
func BenchmarkFullFetch(b *testing.B) {
	cases := []struct {
		records, limit int
		window         time.Duration
	}{
		// NVD without a key, window 10x shorter: 5 pages of 2000 per 3s.
		{300_000, 5, 3 * time.Second},
		// The same, 30x shorter: 5 pages per second; on a loaded machine
		// the client's CPU rather than the pacer may set the pace.
		{300_000, 5, time.Second},
	}
	base := nvd.TestFeeds(b)[2].Records()
	for _, bc := range cases {
		b.Run(fmt.Sprintf("records=%d/limit=%d/window=%s", bc.records, bc.limit, bc.window), func(b *testing.B) {
			scale, err := nvdserver.NewScale(base, bc.records, 1)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				benchFetch(b, scale, bc.limit, bc.window)
			}
		})
	}
}

func benchFetch(b *testing.B, cat nvd.Catalog, limit int, window time.Duration) {
	srv, err := nvdserver.New(nvdserver.Config{Catalog: cat, Window: window, Limit: limit, KeyLimit: limit, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	log := &sendLog{inner: http.DefaultTransport}
	c := nvd.NewClient(nvd.Config{BaseURL: hs.URL + nvdserver.APIPath, APIKey: "bench", Window: window,
		RequestsPerWindow: limit, HTTPClient: &http.Client{Transport: log}, Logger: quiet})
	records := 0
	start := time.Now()
	err = nvd.Walk(context.Background(), c, nvd.Query{}, nvd.WalkOptions{Workers: limit}, func(p nvd.Page) error {
		records += len(p.Vulnerabilities)
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if records != cat.Len() {
		b.Fatalf("fetched %d records of %d", records, cat.Len())
	}
	st := srv.Stats()
	slices.SortFunc(log.sent, time.Time.Compare)
	n := len(log.sent)
	// The allowed schedule sends `limit` requests at once, then `limit`
	// more each window: the achieved rate over the requests after the
	// first burst, against limit/window.
	span := log.sent[n-1].Sub(log.sent[0])
	ratio := 1.0
	if n > limit && span > 0 {
		ratio = float64(n-limit) / span.Seconds() / (float64(limit) / window.Seconds())
	}
	b.ReportMetric(ratio*100, "%allowed-rate")
	b.ReportMetric(float64(st.Throttled), "throttled")
	b.ReportMetric(float64(n), "requests")
	b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(st.MaxPerWin), "max/window")
	b.ReportMetric(float64(log.meanWait().Milliseconds()), "ms-to-headers")
	if st.Throttled != 0 || st.MaxPerWin > limit {
		b.Errorf("server throttled %d requests (max %d in a window, limit %d)", st.Throttled, st.MaxPerWin, limit)
	}
}

// BenchmarkClientFetchPage is one 2000-record page through the loopback
// server without rate limiting: the client's per-page cost (HTTP, read,
// decode, validate) plus the server's.
func BenchmarkClientFetchPage(b *testing.B) {
	scale, err := nvdserver.NewScale(nvd.TestFeeds(b)[2].Records(), 300_000, 1)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := nvdserver.New(nvdserver.Config{Catalog: scale, Limit: 1 << 30, KeyLimit: 1 << 30, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := nvd.NewClient(nvd.Config{BaseURL: hs.URL + nvdserver.APIPath, RequestsPerWindow: 1 << 30, Logger: quiet})
	b.ReportAllocs()
	var bytes int64
	for i := 0; b.Loop(); i++ {
		p, err := c.FetchPage(context.Background(), nvd.Query{StartIndex: (i * 2000) % 298_000})
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range p.Vulnerabilities {
			bytes += int64(len(v.CVE))
		}
	}
	b.SetBytes(bytes / int64(b.N))
}
