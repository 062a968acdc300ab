package nvd

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

var (
	// ErrInvalidQuery is wrapped by errors for a Query NVD would refuse
	// (bad page size, unpaired or too long date range, malformed cveId).
	ErrInvalidQuery = errors.New("nvd: invalid query")
	// ErrRejected is wrapped by errors for an answer that retrying cannot
	// fix: a 404 (whose message header becomes the error text) or another
	// 4xx that is not a throttle.
	ErrRejected = errors.New("nvd: request rejected")
	// ErrBadPage is wrapped by errors for a 200 answer that is not a whole
	// page: it does not decode, lacks vulnerabilities, or holds fewer items
	// than totalResults promises. The client retries such pages.
	ErrBadPage = errors.New("nvd: incomplete or malformed page")
	// ErrGaveUp is wrapped by the error returned when the retry budget
	// (attempts or elapsed time) is spent; the error also says what NVD
	// answered last.
	ErrGaveUp = errors.New("nvd: retry budget exhausted")
	// ErrNotFound is returned by GetCVE when the source has no such CVE.
	ErrNotFound = errors.New("nvd: CVE not found")
	// ErrFeed is wrapped by errors reading a feed file.
	ErrFeed = errors.New("nvd: bad feed file")
	// ErrViewsNotConfigured is returned by Views.Fetch without a URL.
	ErrViewsNotConfigured = errors.New("view_fetch_url is not configured")
)

// HTTPError describes one non-200 answer (or a 200 that was not a page).
type HTTPError struct {
	Status     int           // HTTP status; 0 for a connection error
	Message    string        // NVD's message header, or a body excerpt
	RetryAfter time.Duration // from the Retry-After header, 0 if absent
	Err        error         // the cause for connection and decode errors
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	if e.Status == 0 {
		b.WriteString("connection error")
	} else {
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *HTTPError) Unwrap() error { return e.Err }

// retryable reports whether the answer is worth another attempt.
func (e *HTTPError) retryable() bool {
	switch e.Status {
	case 0, http.StatusOK, http.StatusForbidden, http.StatusTooManyRequests,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
		http.StatusInternalServerError, http.StatusRequestTimeout:
		return true
	}
	return false
}

// throttle reports whether NVD says we asked too fast.
func (e *HTTPError) throttle() bool {
	return e.Status == http.StatusForbidden || e.Status == http.StatusTooManyRequests
}

// pageSized reports whether a smaller page might have succeeded.
func (e *HTTPError) pageSized() bool {
	return e.Status == 0 || e.Status == http.StatusOK || e.Status >= 500
}
