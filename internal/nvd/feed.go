package nvd

import (
	"archive/zip"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Feed is a Catalog and a Source over NVD 2.0 feed files, held in memory.
// It is safe for concurrent reads once loaded.
type Feed struct {
	records []Record
	byID    map[string]int
	// Now stamps the pages Feed serves; time.Now when nil.
	Now func() time.Time
}

var (
	_ Catalog = (*Feed)(nil)
	_ Source  = (*Feed)(nil)
)

// LoadFeeds reads feed files in order (.json, .json.gz, or .zip holding
// .json entries) into one Feed. A CVE present in several files keeps the
// position of its first appearance and the content of its last.
func LoadFeeds(paths ...string) (*Feed, error) {
	f := &Feed{byID: map[string]int{}}
	for _, p := range paths {
		if err := f.loadFile(p); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// FeedFiles lists the feed files in dir (sorted by name).
func FeedFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFeed, err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".json.gz") || strings.HasSuffix(n, ".zip")) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out, nil
}

func (f *Feed) loadFile(path string) error {
	switch {
	case strings.HasSuffix(path, ".zip"):
		return f.loadZip(path)
	case strings.HasSuffix(path, ".gz"):
		fh, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFeed, err)
		}
		defer fh.Close()
		gz, err := gzip.NewReader(fh)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrFeed, path, err)
		}
		return f.Read(gz, path)
	default:
		fh, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFeed, err)
		}
		defer fh.Close()
		return f.Read(fh, path)
	}
}

func (f *Feed) loadZip(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrFeed, path, err)
	}
	defer zr.Close()
	n := 0
	for _, zf := range zr.File {
		if !strings.HasSuffix(zf.Name, ".json") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("%w: %s!%s: %w", ErrFeed, path, zf.Name, err)
		}
		err = f.Read(rc, path+"!"+zf.Name)
		rc.Close()
		if err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: %s holds no .json file", ErrFeed, path)
	}
	return nil
}

// Read adds the records of one feed document (the API 2.0 page shape)
// read from r; name is used in errors. The document's totalResults must
// match the records it holds, so a cut-off feed is refused.
func (f *Feed) Read(r io.Reader, name string) error {
	if f.byID == nil {
		f.byID = map[string]int{}
	}
	var doc Page
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrFeed, name, err)
	}
	if doc.Format != Format || len(doc.Vulnerabilities) != doc.TotalResults {
		return fmt.Errorf("%w: %s: format %q, %d vulnerabilities for totalResults %d",
			ErrFeed, name, doc.Format, len(doc.Vulnerabilities), doc.TotalResults)
	}
	for k, v := range doc.Vulnerabilities {
		rec, err := ParseRecord(v.CVE)
		if err != nil {
			return fmt.Errorf("%w: %s: vulnerabilities[%d]: %w", ErrFeed, name, k, err)
		}
		f.add(rec)
	}
	return nil
}

func (f *Feed) add(rec Record) {
	if i, ok := f.byID[rec.ID]; ok {
		f.records[i] = rec
		return
	}
	f.byID[rec.ID] = len(f.records)
	f.records = append(f.records, rec)
}

// Records returns the records in feed order (shared, do not modify).
func (f *Feed) Records() []Record { return f.records }

// Len implements Catalog.
func (f *Feed) Len() int { return len(f.records) }

// ID implements Catalog.
func (f *Feed) ID(i int) string { return f.records[i].ID }

// Meta implements Catalog.
func (f *Feed) Meta(i int) Meta { return f.records[i].Meta }

// AppendRaw implements Catalog.
func (f *Feed) AppendRaw(dst []byte, i int) []byte { return append(dst, f.records[i].Raw...) }

// Lookup implements Catalog.
func (f *Feed) Lookup(id string) (int, bool) {
	i, ok := f.byID[id]
	return i, ok
}

func (f *Feed) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// FetchPage implements Source: the page NVD would serve for q.
func (f *Feed) FetchPage(ctx context.Context, q Query) (Page, error) {
	if err := q.Validate(); err != nil {
		return Page{}, err
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	return PageOf(f, q, f.now()), nil
}

// GetCVE implements Source.
func (f *Feed) GetCVE(ctx context.Context, id string) (json.RawMessage, error) {
	if err := (Query{CVEID: id}).Validate(); err != nil {
		return nil, err
	}
	i, ok := f.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return f.records[i].Raw, ctx.Err()
}

// Count implements Source: how many CVEs the feeds hold.
func (f *Feed) Count(ctx context.Context) (int, error) { return len(f.records), ctx.Err() }
