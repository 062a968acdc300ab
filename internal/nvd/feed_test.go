package nvd

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const (
	feed2003 = "../../assets/nvd/nvdcve-2.0-2003.json.zip"
	feed2026 = "../../assets/nvd/nvdcve-2.0-2026.json"
)

var (
	feedsOnce sync.Once
	feeds     [3]*Feed // 2003, 2026, both
	feedsErr  error
)

// testFeeds loads the real feeds once per test binary: 2003, 2026, both.
func testFeeds(t testing.TB) [3]*Feed {
	t.Helper()
	feedsOnce.Do(func() {
		if feeds[0], feedsErr = LoadFeeds(feed2003); feedsErr != nil {
			return
		}
		if feeds[1], feedsErr = LoadFeeds(feed2026); feedsErr != nil {
			return
		}
		feeds[2] = &Feed{byID: map[string]int{}}
		for _, r := range append(feeds[0].Records(), feeds[1].Records()...) {
			feeds[2].add(r)
		}
	})
	if feedsErr != nil {
		t.Fatal(feedsErr)
	}
	return feeds
}

// idOf reads the id of a compact cve object (NVD writes it first).
func idOf(raw []byte) string {
	_, rest, _ := bytes.Cut(raw, []byte(`"id":"`))
	id, _, _ := bytes.Cut(rest, []byte(`"`))
	return string(id)
}

func TestLoadFeedsCounts(t *testing.T) {
	fs := testFeeds(t)
	tests := []struct {
		f               *Feed
		total, rejected int
	}{{fs[0], 1555, 51}, {fs[1], 1069, 78}, {fs[2], 2624, 129}}
	for _, tt := range tests {
		f := tt.f
		rej := 0
		for _, r := range f.Records() {
			if r.Rejected {
				rej++
			}
		}
		if f.Len() != tt.total || rej != tt.rejected {
			t.Errorf("%d records, %d rejected; want %d, %d", f.Len(), rej, tt.total, tt.rejected)
		}
	}
}

func TestFeedGzipMatchesJSON(t *testing.T) {
	raw, err := os.ReadFile(feed2026)
	if err != nil {
		t.Fatal(err)
	}
	gzPath := filepath.Join(t.TempDir(), "nvdcve-2.0-2026.json.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	if err := os.WriteFile(gzPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	a := testFeeds(t)[1]
	b, err := LoadFeeds(gzPath)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != b.Len() {
		t.Fatalf("gz %d records, json %d", b.Len(), a.Len())
	}
	// Every record equals the feed's own object, compacted.
	var doc struct {
		Vulnerabilities []struct {
			CVE json.RawMessage `json:"cve"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for i, r := range b.Records() {
		var want bytes.Buffer
		json.Compact(&want, doc.Vulnerabilities[i].CVE)
		if !bytes.Equal(r.Raw, want.Bytes()) || !bytes.Equal(r.Raw, a.Records()[i].Raw) {
			t.Fatalf("record %d (%s) differs from the feed", i, r.ID)
		}
	}
}

func TestFeedRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(feed2026)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.json")
	os.WriteFile(cut, raw[:len(raw)/2], 0o644)
	// A whole document whose totalResults promises more than it holds.
	short := filepath.Join(dir, "short.json")
	os.WriteFile(short, []byte(`{"resultsPerPage":2,"startIndex":0,"totalResults":2,"format":"NVD_CVE","version":"2.0","timestamp":"2026-01-01T00:00:00.000","vulnerabilities":[{"cve":{"id":"CVE-2026-0001","published":"2026-01-01T00:00:00.000","lastModified":"2026-01-01T00:00:00.000"}}]}`), 0o644)
	badID := filepath.Join(dir, "badid.json")
	os.WriteFile(badID, []byte(`{"totalResults":1,"format":"NVD_CVE","vulnerabilities":[{"cve":{"id":"CWE-79","published":"2026-01-01T00:00:00.000","lastModified":"2026-01-01T00:00:00.000"}}]}`), 0o644)
	for _, p := range []string{cut, short, badID, filepath.Join(dir, "missing.json"), filepath.Join(dir, "x.zip")} {
		if _, err := LoadFeeds(p); !errors.Is(err, ErrFeed) {
			t.Errorf("LoadFeeds(%s) = %v, want ErrFeed", filepath.Base(p), err)
		}
	}
}

func TestFeedSource(t *testing.T) {
	f := testFeeds(t)[2]
	ctx := context.Background()
	if n, _ := f.Count(ctx); n != 2624 {
		t.Errorf("Count = %d, want 2624", n)
	}
	raw, err := f.GetCVE(ctx, "CVE-2026-0544")
	if err != nil || !bytes.Contains(raw, []byte(`"id":"CVE-2026-0544"`)) {
		t.Errorf("GetCVE = %.60s, %v", raw, err)
	}
	if _, err := f.GetCVE(ctx, "CVE-1999-0001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCVE(unknown) = %v, want ErrNotFound", err)
	}
	p, err := f.FetchPage(ctx, Query{StartIndex: 2400, ResultsPerPage: 100, NoRejected: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.TotalResults != 2624-51-78 || len(p.Vulnerabilities) != p.TotalResults-2400 {
		t.Errorf("noRejected page: total %d, %d items", p.TotalResults, len(p.Vulnerabilities))
	}
	empty, _ := f.FetchPage(ctx, Query{StartIndex: 5000})
	b, _ := json.Marshal(empty)
	if bytes.Contains(b, []byte("vulnerabilities")) {
		t.Errorf("empty page %s must omit vulnerabilities", b)
	}
	if _, err := f.FetchPage(ctx, Query{ResultsPerPage: 5000}); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("FetchPage(5000 per page) = %v, want ErrInvalidQuery", err)
	}
}

// TestWalkDateWindows walks a year of lastModified dates from the feed and
// compares with a direct filter: windows must cover the range without gaps.
func TestWalkDateWindows(t *testing.T) {
	f := testFeeds(t)[2]
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	want := map[string]bool{}
	for _, r := range f.Records() {
		if !r.LastModified.Before(start) && !r.LastModified.After(end) {
			want[r.ID] = true
		}
	}
	got := map[string]bool{}
	pages := 0
	q := Query{ResultsPerPage: 97, LastModStart: start, LastModEnd: end}
	err := Walk(context.Background(), f, q, WalkOptions{Workers: 3}, func(p Page) error {
		pages++
		for _, v := range p.Vulnerabilities {
			got[idOf(v.CVE)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("walk found %d CVEs in %d pages, direct filter %d", len(got), pages, len(want))
	}
	for id := range want {
		if !got[id] {
			t.Errorf("walk missed %s", id)
		}
	}
}

func TestWalkStopsOnCallbackError(t *testing.T) {
	f := testFeeds(t)[1]
	stop := errors.New("stop")
	calls := 0
	err := Walk(context.Background(), f, Query{ResultsPerPage: 10}, WalkOptions{Workers: 4}, func(Page) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("Walk = %v after %d calls, want stop after 3", err, calls)
	}
}

func TestViews(t *testing.T) {
	list := `[{"ID":"1000","Name":"Research Concepts"},{"ID":"699","Name":"Software Development"},{"ID":"1194","Name":"Hardware Design"}]`
	mux := http.NewServeMux()
	mux.HandleFunc("/all.json", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, list) })
	mux.HandleFunc("/paged", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"views":[{"ID":"`+r.URL.Query().Get("start_index")+`"}]}`)
	})
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `[1,2]`) })
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	hs := httptest.NewServer(mux)
	defer hs.Close()
	ctx := context.Background()
	tests := []struct {
		path       string
		start, per int
		want       []string
		err        error
	}{
		{"/all.json", 1, 1, []string{`{"ID":"699","Name":"Software Development"}`}, nil},
		{"/all.json", 0, 0, []string{`{"ID":"1000","Name":"Research Concepts"}`, `{"ID":"699","Name":"Software Development"}`, `{"ID":"1194","Name":"Hardware Design"}`}, nil},
		{"/all.json", 5, 2, nil, nil},
		{"/paged", 7, 1, []string{`{"ID":"7"}`}, nil},
		{"/bad", 0, 10, nil, ErrBadPage},
		{"/gone", 0, 10, nil, ErrRejected},
	}
	for _, tt := range tests {
		got, err := Views{URL: hs.URL + tt.path}.Fetch(ctx, tt.start, tt.per)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("%s: error %v, want %v", tt.path, err, tt.err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s %d/%d: %d views, want %d", tt.path, tt.start, tt.per, len(got), len(tt.want))
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("%s: view %d = %s, want %s", tt.path, i, got[i], tt.want[i])
			}
		}
	}
	if _, err := (Views{}).Fetch(ctx, 0, 10); err == nil || err.Error() != "view_fetch_url is not configured" {
		t.Errorf("no URL: %v", err)
	}
}
