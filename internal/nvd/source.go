package nvd

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Source is anything that answers CVE API 2.0 queries: the HTTP Client or
// a Feed. Callers (meta, remote) depend on Source only.
type Source interface {
	// FetchPage returns one whole page for q. A page may hold fewer items
	// than q.ResultsPerPage when the source shrank its page size; callers
	// advance by len(page.Vulnerabilities).
	FetchPage(ctx context.Context, q Query) (Page, error)
	// GetCVE returns the `cve` object of one CVE, or ErrNotFound.
	GetCVE(ctx context.Context, id string) (json.RawMessage, error)
	// Count returns the number of CVEs the source holds.
	Count(ctx context.Context) (int, error)
}

// WalkOptions tune Walk.
type WalkOptions struct {
	// Workers is how many pages may be fetched (or buffered) at once; 1
	// when zero. Set it to the pacer's requests per window to keep the
	// window full.
	Workers int
	// Now ends an open-ended date range; time.Now when nil.
	Now func() time.Time
}

// Walk calls fn with every page of q in order. A date range longer than
// MaxRange is split into windows; within a window, after the first page
// tells the total, the remaining pages are fetched by opts.Workers
// goroutines and delivered in order. Walk returns the first error from the
// source or fn, after all its goroutines have stopped.
func Walk(ctx context.Context, src Source, q Query, opts WalkOptions, fn func(Page) error) error {
	for _, wq := range windows(q, opts) {
		if err := walkWindow(ctx, src, wq, max(opts.Workers, 1), fn); err != nil {
			return err
		}
	}
	return nil
}

// windows splits q's date range (lastMod, else pub) into MaxRange pieces.
func windows(q Query, opts WalkOptions) []Query {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	start, end := &q.LastModStart, &q.LastModEnd
	if start.IsZero() && end.IsZero() {
		start, end = &q.PubStart, &q.PubEnd
	}
	if start.IsZero() && end.IsZero() {
		return []Query{q}
	}
	if end.IsZero() {
		*end = now()
	}
	var out []Query
	for _, r := range SplitRange(*start, *end, MaxRange) {
		*start, *end = r.Start, r.End
		out = append(out, q)
		q.StartIndex = 0
	}
	return out
}

type chunk struct {
	pages []Page
	err   error
}

func walkWindow(ctx context.Context, src Source, q Query, workers int, fn func(Page) error) error {
	first, err := src.FetchPage(ctx, q)
	if err != nil {
		return err
	}
	if err := fn(first); err != nil {
		return err
	}
	size := q.ResultsPerPage
	if size <= 0 {
		size = MaxPageSize
	}
	next, total := q.StartIndex+len(first.Vulnerabilities), first.TotalResults
	if len(first.Vulnerabilities) == 0 || next >= total {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	tokens := make(chan struct{}, workers)
	results := make(chan chan chunk, workers)
	go func() { // launcher: owned by walkWindow, which waits on wg
		defer close(results)
		for start := next; start < total; start += size {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			out := make(chan chunk, 1)
			results <- out
			wg.Add(1)
			go func(cq Query) {
				defer wg.Done()
				out <- fetchChunk(ctx, src, cq)
			}(withPage(q, start, min(size, total-start)))
		}
	}()
	return deliver(ctx, results, tokens, fn, cancel)
}

// deliver hands chunks to fn in launch order, releasing a token per chunk.
func deliver(ctx context.Context, results chan chan chunk, tokens chan struct{}, fn func(Page) error, cancel func()) error {
	var firstErr error
	for out := range results {
		c := <-out
		<-tokens
		if firstErr != nil {
			continue
		}
		firstErr = c.err
		for _, p := range c.pages {
			if firstErr == nil {
				firstErr = fn(p)
			}
		}
		if firstErr != nil {
			cancel()
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

func withPage(q Query, start, size int) Query {
	q.StartIndex, q.ResultsPerPage = start, size
	return q
}

// fetchChunk fetches [q.StartIndex, +q.ResultsPerPage), in several pages
// when the source shrinks its page size.
func fetchChunk(ctx context.Context, src Source, q Query) chunk {
	var c chunk
	end := q.StartIndex + q.ResultsPerPage
	for q.StartIndex < end {
		p, err := src.FetchPage(ctx, q)
		if err != nil {
			c.err = fmt.Errorf("page at startIndex %d: %w", q.StartIndex, err)
			return c
		}
		c.pages = append(c.pages, p)
		n := len(p.Vulnerabilities)
		if n == 0 || q.StartIndex+n >= p.TotalResults {
			return c
		}
		q.StartIndex += n
		q.ResultsPerPage = end - q.StartIndex
	}
	return c
}
