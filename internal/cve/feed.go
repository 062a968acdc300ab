package cve

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Feed is an NVD API 2.0 response page or a yearly JSON 2.0 feed file; both
// share this shape. Each item's CVE is kept raw.
type Feed struct {
	ResultsPerPage  int    `json:"resultsPerPage"`
	StartIndex      int    `json:"startIndex"`
	TotalResults    int    `json:"totalResults"`
	Format          string `json:"format"`
	Version         string `json:"version"`
	Timestamp       string `json:"timestamp"`
	Vulnerabilities []struct {
		CVE json.RawMessage `json:"cve"`
	} `json:"vulnerabilities"`
}

// ReadFeed decodes a feed and returns its cve objects in order. An item
// without a cve object is an error naming its index.
func ReadFeed(r io.Reader) ([]json.RawMessage, error) {
	var f Feed
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: NVD feed does not decode: %w", ErrInvalid, err)
	}
	out := make([]json.RawMessage, len(f.Vulnerabilities))
	for i, v := range f.Vulnerabilities {
		if len(v.CVE) == 0 || string(v.CVE) == "null" {
			return nil, fmt.Errorf("%w: NVD feed: vulnerabilities[%d] has no cve object", ErrInvalid, i)
		}
		out[i] = v.CVE
	}
	return out, nil
}

// ReadFeedFile reads a feed file: plain JSON, or a .zip holding one .json
// entry (as NVD distributes the yearly feeds).
func ReadFeedFile(path string) ([]json.RawMessage, error) {
	if !strings.HasSuffix(strings.ToLower(path), ".zip") {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		recs, err := ReadFeed(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return recs, nil
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	for _, zf := range z.File {
		if !strings.HasSuffix(strings.ToLower(zf.Name), ".json") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, zf.Name, err)
		}
		defer rc.Close()
		recs, err := ReadFeed(rc)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, zf.Name, err)
		}
		return recs, nil
	}
	return nil, fmt.Errorf("%w: %s: no .json entry in the zip", ErrInvalid, path)
}
