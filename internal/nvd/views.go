package nvd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Views fetches CWE view objects over HTTP. NVD has no views API, so the
// source is whatever remote.view_fetch_url names. It is asked
// GET <URL>?start_index=N&results_per_page=M and must answer a JSON array
// of view objects, or an object {"views": [...]}. An answer holding more
// than M views is taken as the whole list and paged here, so a static
// file of views also works. View objects are passed on untouched.
type Views struct {
	URL          string
	HTTPClient   *http.Client // http.DefaultClient when nil
	MaxBodyBytes int64        // 64 MiB when zero
}

// Fetch returns up to perPage views from startIndex (perPage 0 means all).
// Without a URL it returns ErrViewsNotConfigured.
func (v Views) Fetch(ctx context.Context, startIndex, perPage int) ([]json.RawMessage, error) {
	if v.URL == "" {
		return nil, ErrViewsNotConfigured
	}
	if startIndex < 0 || perPage < 0 {
		return nil, fmt.Errorf("%w: start_index %d, results_per_page %d: must not be negative", ErrInvalidQuery, startIndex, perPage)
	}
	u, err := url.Parse(v.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: view_fetch_url %q: %w", ErrRejected, v.URL, err)
	}
	q := u.Query()
	q.Set("start_index", strconv.Itoa(startIndex))
	if perPage > 0 {
		q.Set("results_per_page", strconv.Itoa(perPage))
	}
	u.RawQuery = q.Encode()
	body, err := v.get(ctx, u.String())
	if err != nil {
		return nil, err
	}
	views, err := decodeViews(body)
	if err != nil {
		return nil, fmt.Errorf("%w: views from %s: %w", ErrBadPage, v.URL, err)
	}
	if perPage > 0 && len(views) > perPage { // a whole list: page it here
		views = views[min(startIndex, len(views)):]
		views = views[:min(perPage, len(views))]
	}
	return views, nil
}

func (v Views) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRejected, u, err)
	}
	req.Header.Set("Accept", "application/json")
	hc := v.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("nvd: views: %w", &HTTPError{Err: err})
	}
	defer resp.Body.Close()
	limit := v.MaxBodyBytes
	if limit <= 0 {
		limit = 64 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: views: %w", ErrRejected, answerError(resp, body, time.Now()))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: views: body cut off: %w", ErrBadPage, err)
	}
	return body, nil
}

// decodeViews reads [view...] or {"views":[view...]}; each view must be
// an object.
func decodeViews(body []byte) ([]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	var views []json.RawMessage
	if len(body) > 0 && body[0] == '{' {
		var wrap struct {
			Views *[]json.RawMessage `json:"views"`
		}
		if err := json.Unmarshal(body, &wrap); err != nil {
			return nil, err
		}
		if wrap.Views == nil {
			return nil, fmt.Errorf(`object without "views"`)
		}
		views = *wrap.Views
	} else if err := json.Unmarshal(body, &views); err != nil {
		return nil, err
	}
	for i, v := range views {
		if len(v) == 0 || v[0] != '{' {
			return nil, fmt.Errorf("views[%d] is not an object", i)
		}
	}
	return views, nil
}
