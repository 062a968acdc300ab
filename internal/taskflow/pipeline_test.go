package taskflow

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// nvdPages returns the real NVD API 2.0 responses under testdata, in name order.
func nvdPages(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../testdata/nvd/pages/single/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("testdata pages: %v, %d files", err, len(files))
	}
	slices.Sort(files)
	return files
}

// fetchCVE reads page i and returns the id of its CVE.
func fetchCVE(files []string, i int) (string, error) {
	b, err := os.ReadFile(files[i])
	if err != nil {
		return "", err
	}
	var r struct {
		Vulnerabilities []struct {
			CVE struct {
				ID string `json:"id"`
			} `json:"cve"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", err
	}
	if len(r.Vulnerabilities) != 1 {
		return "", errors.New(files[i] + ": not one CVE")
	}
	return r.Vulnerabilities[0].CVE.ID, nil
}

// recorder is a commit stage that keeps what it committed and watches the
// pipeline's bounds.
type recorder struct {
	mu                   sync.Mutex
	ids                  []string
	pages                []int
	fetching, peakFetch  int
	started, peakPending int
}

func (r *recorder) fetchStart() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetching++
	r.started++
	r.peakFetch = max(r.peakFetch, r.fetching)
	r.peakPending = max(r.peakPending, r.started-len(r.pages))
}

func (r *recorder) fetchEnd() {
	r.mu.Lock()
	r.fetching--
	r.mu.Unlock()
}

func (r *recorder) commit(_ context.Context, page int, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pages = append(r.pages, page)
	r.ids = append(r.ids, id)
	return nil
}

func TestPipelineCommitsInOrder(t *testing.T) {
	files := nvdPages(t)
	var want []string
	for i := range files {
		id, err := fetchCVE(files, i)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		p := &Pipeline[string]{
			Limiter: NewLimiter(3),
			Window:  5,
			Fetch: func(ctx context.Context, i int) (string, error) {
				r.fetchStart()
				defer r.fetchEnd()
				// Later pages answer sooner, so fetches finish out of order.
				time.Sleep(time.Duration(len(files)-i) * time.Millisecond)
				return fetchCVE(files, i)
			},
			Commit: r.commit,
		}
		n, err := p.Run(context.Background(), 0, len(files))
		if err != nil || n != len(files) {
			t.Fatalf("Run = %d, %v", n, err)
		}
		if !slices.Equal(r.ids, want) || !slices.IsSorted(r.pages) {
			t.Errorf("committed %v (pages %v), want %v", r.ids, r.pages, want)
		}
		if r.peakFetch > 3 || r.peakPending > 5 {
			t.Errorf("peak fetches %d (limit 3), peak uncommitted %d (window 5)", r.peakFetch, r.peakPending)
		}
		if r.peakFetch < 2 {
			t.Errorf("fetches never overlapped (peak %d)", r.peakFetch)
		}
	})
}

func TestPipelineFetchRetryAndFailure(t *testing.T) {
	files := nvdPages(t)
	errThrottled := errors.New("nvd: 403 Forbidden (rate limited)")
	s := &sleeps{}
	var mu sync.Mutex
	tries := map[int]int{}
	r := &recorder{}
	p := &Pipeline[string]{
		Limiter: NewLimiter(2),
		Retry:   Retry{Retries: 2, Backoff: Exponential(6*time.Second, time.Minute)},
		Sleep:   s.sleep,
		Fetch: func(ctx context.Context, i int) (string, error) {
			mu.Lock()
			tries[i]++
			n := tries[i]
			mu.Unlock()
			switch {
			case i == 2 && n == 1: // throttled once, then fine
				return "", errThrottled
			case i == 6: // always throttled
				return "", errThrottled
			}
			return fetchCVE(files, i)
		},
		Commit: r.commit,
	}
	n, err := p.Run(context.Background(), 0, len(files))
	if n != 6 || !errors.Is(err, errThrottled) || !strings.Contains(err.Error(), "fetch page 6") {
		t.Fatalf("Run = %d, %v; want 6 pages and an error naming page 6", n, err)
	}
	if tries[2] != 2 || tries[6] != 3 {
		t.Errorf("tries %v", tries)
	}
	if !slices.Equal(r.pages, []int{0, 1, 2, 3, 4, 5}) {
		t.Errorf("committed pages %v", r.pages)
	}
}

func TestPipelineCommitError(t *testing.T) {
	files := nvdPages(t)
	errLocked := errors.New("sqlite: database is locked")
	var got []int
	p := &Pipeline[string]{
		Limiter: NewLimiter(2),
		Fetch:   func(_ context.Context, i int) (string, error) { return fetchCVE(files, i) },
		Commit: func(_ context.Context, page int, _ string) error {
			if page == 13 {
				return errLocked
			}
			got = append(got, page)
			return nil
		},
	}
	n, err := p.Run(context.Background(), 10, 10) // resume from page 10
	if n != 3 || !errors.Is(err, errLocked) || !strings.Contains(err.Error(), "commit page 13") {
		t.Errorf("Run = %d, %v", n, err)
	}
	if !slices.Equal(got, []int{10, 11, 12}) {
		t.Errorf("committed %v", got)
	}
}

func TestPipelineCancel(t *testing.T) {
	files := nvdPages(t)
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := &recorder{}
		p := &Pipeline[string]{
			Limiter: NewLimiter(2),
			Fetch: func(ctx context.Context, i int) (string, error) {
				if i >= 4 {
					<-ctx.Done() // a slow server, until the user stops the job
					return "", ctx.Err()
				}
				return fetchCVE(files, i)
			},
			Commit: r.commit,
		}
		done := make(chan struct{})
		var n int
		var err error
		go func() { n, err = p.Run(ctx, 0, len(files)); close(done) }()
		synctest.Wait()
		cancel()
		<-done
		if n != 4 || !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %d, %v", n, err)
		}
	})
}

func TestPipelineMisuse(t *testing.T) {
	p := &Pipeline[int]{}
	if _, err := p.Run(context.Background(), 0, 1); err == nil {
		t.Error("Run without Fetch and Commit succeeded")
	}
	p = &Pipeline[int]{Fetch: func(context.Context, int) (int, error) { return 0, nil },
		Commit: func(context.Context, int, int) error { return nil }}
	if n, err := p.Run(context.Background(), 5, 0); n != 0 || err != nil {
		t.Errorf("empty run = %d, %v", n, err)
	}
}
