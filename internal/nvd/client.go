package nvd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is NVD's CVE API 2.0 endpoint.
const DefaultBaseURL = "https://services.nvd.nist.gov/rest/json/cves/2.0"

// Config configures a Client. Zero fields take the documented defaults;
// the library never reads the environment.
type Config struct {
	BaseURL string // DefaultBaseURL when empty
	APIKey  string // sent as the apiKey header when set
	// Window and RequestsPerWindow are NVD's rate limit: 30s, and 5
	// requests without a key or 50 with one, when zero.
	Window            time.Duration
	RequestsPerWindow int
	// Pacer, when set, is used instead of one built from the fields
	// above, so that several clients share one window.
	Pacer *Pacer
	// MaxAttempts and MaxRetryTime bound the retries of one call: 8
	// attempts and 10 minutes when zero.
	MaxAttempts  int
	MaxRetryTime time.Duration
	// BackoffBase and BackoffMax shape the jittered exponential backoff:
	// 2s and 2 minutes when zero.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// RequestTimeout bounds one HTTP exchange, body included: 2 minutes
	// when zero.
	RequestTimeout time.Duration
	// PageSize is the largest page asked for (MaxPageSize when zero);
	// MinPageSize the smallest it shrinks to (50 when zero). The size
	// halves after ShrinkAfter consecutive page-sized failures (2) and
	// doubles after GrowAfter consecutive successes (4).
	PageSize, MinPageSize  int
	ShrinkAfter, GrowAfter int
	// MaxBodyBytes bounds a response body: 256 MiB when zero.
	MaxBodyBytes int64
	HTTPClient   *http.Client                               // http.DefaultClient when nil
	Now          func() time.Time                           // time.Now when nil
	Sleep        func(context.Context, time.Duration) error // SleepContext when nil
	Jitter       func() float64                             // in [0,1); math/rand when nil
	Logger       *slog.Logger                               // slog.Default when nil
}

// Client is a Source over NVD's CVE API 2.0. Safe for concurrent use; all
// callers share its Pacer. Its one mutex guards the adaptive page size.
type Client struct {
	cfg    Config
	pacer  *Pacer
	bodies chan *bytes.Buffer // response buffers to reuse (see getBody)

	mu       sync.Mutex
	size     int // current page size
	failRun  int // consecutive page-sized failures
	okRun    int // consecutive successes
	attempts int
	retries  int
	throttle int
}

var _ Source = (*Client)(nil)

// NewClient returns a Client for cfg with defaults filled in.
func NewClient(cfg Config) *Client {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	def(&cfg.Window, 30*time.Second)
	if cfg.APIKey != "" {
		defInt(&cfg.RequestsPerWindow, 50)
	}
	defInt(&cfg.RequestsPerWindow, 5)
	defInt(&cfg.MaxAttempts, 8)
	def(&cfg.MaxRetryTime, 10*time.Minute)
	def(&cfg.BackoffBase, 2*time.Second)
	def(&cfg.BackoffMax, 2*time.Minute)
	def(&cfg.RequestTimeout, 2*time.Minute)
	defInt(&cfg.PageSize, MaxPageSize)
	cfg.PageSize = min(cfg.PageSize, MaxPageSize)
	defInt(&cfg.MinPageSize, 50)
	cfg.MinPageSize = min(cfg.MinPageSize, cfg.PageSize)
	defInt(&cfg.ShrinkAfter, 2)
	defInt(&cfg.GrowAfter, 4)
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 256 << 20
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = SleepContext
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := cfg.Pacer
	if p == nil {
		p = NewPacer(PacerConfig{Limit: cfg.RequestsPerWindow, Window: cfg.Window, Now: cfg.Now, Sleep: cfg.Sleep})
	}
	return &Client{cfg: cfg, pacer: p, size: cfg.PageSize, bodies: make(chan *bytes.Buffer, maxBodies)}
}

// Pacer returns the client's pacer.
func (c *Client) Pacer() *Pacer { return c.pacer }

// PageSize returns the page size the client asks for now.
func (c *Client) PageSize() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// ClientStats are counters since the Client was made.
type ClientStats struct {
	Attempts  int // HTTP exchanges that ended in an answer or a failure of NVD or the network (not the caller cancelling)
	Retries   int // attempts after the first of a call
	Throttled int // 403 and 429 answers
	PageSize  int
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ClientStats{Attempts: c.attempts, Retries: c.retries, Throttled: c.throttle, PageSize: c.size}
}

// FetchPage implements Source. It asks for min(q.ResultsPerPage, current
// page size) items and returns only a whole page; see the package doc for
// retries. Errors wrap ErrInvalidQuery, ErrRejected, ErrGaveUp or the
// context's error.
func (c *Client) FetchPage(ctx context.Context, q Query) (Page, error) {
	if err := q.Validate(); err != nil {
		return Page{}, err
	}
	want := q.ResultsPerPage
	if want <= 0 {
		want = c.cfg.PageSize
	}
	start := c.cfg.Now()
	var last *HTTPError
	for attempt := 0; ; attempt++ {
		q.ResultsPerPage = min(want, c.PageSize())
		page, herr := c.try(ctx, q)
		if err := ctx.Err(); herr != nil && err != nil { // the caller gave up, not NVD
			return Page{}, fmt.Errorf("nvd: %s: %w", q.RawQuery(), err)
		}
		c.record(herr, attempt, q.ResultsPerPage)
		if herr == nil {
			return page, nil
		}
		if !herr.retryable() {
			return Page{}, fmt.Errorf("%w: %s: %w", ErrRejected, q.RawQuery(), herr)
		}
		last = herr
		delay := c.backoff(attempt, herr)
		elapsed := c.cfg.Now().Sub(start)
		if attempt+1 >= c.cfg.MaxAttempts || elapsed+delay > c.cfg.MaxRetryTime {
			return Page{}, fmt.Errorf("%w after %d attempts in %s: %s: NVD answered %w",
				ErrGaveUp, attempt+1, elapsed.Round(time.Millisecond), q.RawQuery(), last)
		}
		c.cfg.Logger.Warn("nvd: retrying", "query", q.RawQuery(), "attempt", attempt+1,
			"answer", herr.Error(), "delay", delay)
		if herr.throttle() || herr.RetryAfter > 0 {
			c.pacer.Hold(c.cfg.Now().Add(delay))
		}
		if err := c.cfg.Sleep(ctx, delay); err != nil {
			return Page{}, fmt.Errorf("nvd: %s: backing off after %w: %w", q.RawQuery(), herr, err)
		}
	}
}

// backoff is Retry-After when NVD sent one, else an exponential delay with
// equal jitter: half fixed, half random.
func (c *Client) backoff(attempt int, herr *HTTPError) time.Duration {
	if herr.RetryAfter > 0 {
		return herr.RetryAfter
	}
	d := c.cfg.BackoffBase << min(attempt, 20)
	if d <= 0 || d > c.cfg.BackoffMax {
		d = c.cfg.BackoffMax
	}
	return d/2 + time.Duration(c.cfg.Jitter()*float64(d/2))
}

// record updates counters and the adaptive page size after one attempt.
func (c *Client) record(herr *HTTPError, attempt, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts++
	if attempt > 0 {
		c.retries++
	}
	switch {
	case herr == nil:
		c.failRun = 0
		c.okRun++
		if c.okRun >= c.cfg.GrowAfter && c.size < c.cfg.PageSize {
			c.size = min(c.size*2, c.cfg.PageSize)
			c.okRun = 0
		}
	case herr.throttle():
		c.throttle++
	case herr.pageSized() && size > c.cfg.MinPageSize:
		c.okRun = 0
		c.failRun++
		if c.failRun >= c.cfg.ShrinkAfter {
			c.size = max(min(c.size, size)/2, c.cfg.MinPageSize)
			c.failRun = 0
			c.cfg.Logger.Warn("nvd: large pages keep failing, shrinking page size", "size", c.size)
		}
	}
}

// try makes one paced HTTP exchange and checks the page.
func (c *Client) try(ctx context.Context, q Query) (Page, *HTTPError) {
	slot, err := c.pacer.Acquire(ctx)
	if err != nil {
		return Page{}, &HTTPError{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.BaseURL+"?"+q.RawQuery(), nil)
	if err != nil {
		slot.Done(c.cfg.Now())
		return Page{}, &HTTPError{Status: http.StatusBadRequest, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("apiKey", c.cfg.APIKey)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	slot.Done(c.cfg.Now())
	if err != nil {
		return Page{}, &HTTPError{Err: err}
	}
	defer resp.Body.Close()
	buf := c.getBody()
	defer c.putBody(buf)
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, c.cfg.MaxBodyBytes+1))
	body := buf.Bytes()
	if resp.StatusCode != http.StatusOK {
		return Page{}, answerError(resp, body, c.cfg.Now())
	}
	if err != nil {
		return Page{}, &HTTPError{Status: http.StatusOK, Message: "body cut off", Err: err}
	}
	if int64(len(body)) > c.cfg.MaxBodyBytes {
		return Page{}, &HTTPError{Status: http.StatusOK, Message: fmt.Sprintf("body over %d bytes", c.cfg.MaxBodyBytes)}
	}
	page, err := DecodePage(body)
	if err != nil {
		return Page{}, &HTTPError{Status: http.StatusOK, Err: fmt.Errorf("%w: %w", ErrBadPage, err)}
	}
	if err := page.validate(q.StartIndex, q.ResultsPerPage); err != nil {
		return Page{}, &HTTPError{Status: http.StatusOK, Err: err}
	}
	return page, nil
}

// maxBodies is how many response buffers a Client keeps for reuse, and
// maxKeptBody the largest it keeps (a 2,000-record page is 5-10 MB).
const (
	maxBodies   = 4
	maxKeptBody = 32 << 20
)

// getBody returns a response buffer. Pages run to megabytes, and
// DecodePage copies what it keeps, so buffers are reused. They are kept by
// the Client rather than in a sync.Pool, which the collector empties every
// other cycle: remote collects every page or two during a sync, and
// growing a new buffer to a page's size cost it 5 µs of CPU per record
// (BenchmarkMetaIngest's profile of remote, bytes.growSlice).
func (c *Client) getBody() *bytes.Buffer {
	select {
	case b := <-c.bodies:
		return b
	default:
		return new(bytes.Buffer)
	}
}

func (c *Client) putBody(b *bytes.Buffer) {
	if b.Cap() > maxKeptBody {
		return
	}
	b.Reset()
	select {
	case c.bodies <- b:
	default:
	}
}

// answerError describes a non-200 answer: NVD's message header, else a
// short excerpt of the body.
func answerError(resp *http.Response, body []byte, now time.Time) *HTTPError {
	e := &HTTPError{Status: resp.StatusCode, Message: resp.Header.Get("message")}
	if e.Message == "" {
		e.Message = excerpt(body)
	}
	if e.Message == "" && resp.StatusCode == http.StatusNotFound {
		e.Message = "no message header"
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// excerpt is the first line of a body's text, tags stripped, ≤ 120 bytes.
func excerpt(body []byte) string {
	var b strings.Builder
	in := false
	for _, r := range string(body) {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// GetCVE implements Source: the `cve` object of id, or ErrNotFound.
func (c *Client) GetCVE(ctx context.Context, id string) (json.RawMessage, error) {
	p, err := c.FetchPage(ctx, Query{CVEID: id})
	if err != nil {
		return nil, err
	}
	if len(p.Vulnerabilities) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return p.Vulnerabilities[0].CVE, nil
}

// Count implements Source: NVD's totalResults for an unfiltered query.
func (c *Client) Count(ctx context.Context) (int, error) {
	p, err := c.FetchPage(ctx, Query{ResultsPerPage: 1})
	if err != nil {
		return 0, err
	}
	return p.TotalResults, nil
}

// IsRetryable reports whether err is worth retrying later at a higher
// level (the budget ran out on a transient answer).
func IsRetryable(err error) bool { return errors.Is(err, ErrGaveUp) }
