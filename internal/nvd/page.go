package nvd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Format and Version are the constant fields of every API 2.0 page.
const (
	Format  = "NVD_CVE"
	Version = "2.0"
	// MaxPageSize is the largest resultsPerPage NVD accepts (and its default).
	MaxPageSize = 2000
	// MaxRange is the longest date range NVD accepts in one query.
	MaxRange = 120 * 24 * time.Hour
)

// TimeLayout is how NVD writes timestamps: UTC, no zone, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000"

// Page mirrors one CVE API 2.0 response. An empty result omits
// Vulnerabilities, as NVD does.
type Page struct {
	ResultsPerPage  int             `json:"resultsPerPage"`
	StartIndex      int             `json:"startIndex"`
	TotalResults    int             `json:"totalResults"`
	Format          string          `json:"format"`
	Version         string          `json:"version"`
	Timestamp       string          `json:"timestamp"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`
}

// Vulnerability is one item of a page: the NVD `cve` object, untouched.
type Vulnerability struct {
	CVE json.RawMessage `json:"cve"`
}

// Meta is what sources decode from a record to filter it.
type Meta struct {
	Published    time.Time
	LastModified time.Time
	Rejected     bool // vulnStatus is "Rejected"
}

// Record is one CVE: its id, filter fields and raw `cve` object.
type Record struct {
	ID string
	Meta
	Raw json.RawMessage
}

type recordHead struct {
	ID           string `json:"id"`
	Published    string `json:"published"`
	LastModified string `json:"lastModified"`
	VulnStatus   string `json:"vulnStatus"`
}

// ParseRecord decodes the fields Record needs from a raw `cve` object. The
// raw bytes are compacted (whitespace only), so equal records compare equal
// byte for byte whatever indentation their source used.
func ParseRecord(raw []byte) (Record, error) {
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return Record{}, fmt.Errorf("%w: cve object: %w", ErrBadPage, err)
	}
	h, err := readHead(buf.Bytes())
	if err != nil {
		return Record{}, fmt.Errorf("%w: cve object: %w", ErrBadPage, err)
	}
	if !validCVEID(h.ID) {
		return Record{}, fmt.Errorf("%w: cve object: id %q is not a CVE id", ErrBadPage, h.ID)
	}
	pub, err := ParseTime(h.Published)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s: published: %w", ErrBadPage, h.ID, err)
	}
	mod, err := ParseTime(h.LastModified)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s: lastModified: %w", ErrBadPage, h.ID, err)
	}
	return Record{
		ID:   h.ID,
		Meta: Meta{Published: pub, LastModified: mod, Rejected: h.VulnStatus == "Rejected"},
		Raw:  buf.Bytes(),
	}, nil
}

// readHead reads the top-level keys Record needs from a valid JSON object,
// stopping as soon as it has them (NVD writes them first).
func readHead(raw []byte) (recordHead, error) {
	var h recordHead
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return h, fmt.Errorf("not a JSON object")
	}
	fields := map[string]*string{"id": &h.ID, "published": &h.Published,
		"lastModified": &h.LastModified, "vulnStatus": &h.VulnStatus}
	for found := 0; found < len(fields) && dec.More(); {
		tok, err := dec.Token()
		if err != nil {
			return h, err
		}
		key, _ := tok.(string)
		if dst, ok := fields[key]; ok {
			if err := dec.Decode(dst); err != nil {
				return h, fmt.Errorf("%s: %w", key, err)
			}
			found++
			continue
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return h, err
		}
	}
	return h, nil
}

// ParseTime reads an NVD timestamp (no zone, meaning UTC, optional
// fraction). A zone, when present, is honoured.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not ISO-8601", s)
}

// FormatTime writes t as NVD does: UTC, no zone, milliseconds.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// validCVEID reports whether s looks like CVE-YYYY-NNNN(+).
func validCVEID(s string) bool {
	rest, ok := strings.CutPrefix(s, "CVE-")
	if !ok || len(rest) < 9 || rest[4] != '-' {
		return false
	}
	return digits(rest[:4]) && digits(rest[5:])
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validate checks that p is a whole answer to q: it decoded (the caller
// did that), it starts where asked, and it holds every item totalResults
// promises for this page.
func (p *Page) validate(startIndex, perPage int) error {
	if p.StartIndex != startIndex {
		return fmt.Errorf("%w: startIndex %d, asked for %d", ErrBadPage, p.StartIndex, startIndex)
	}
	want := min(perPage, max(p.TotalResults-startIndex, 0))
	switch {
	case want > 0 && p.Vulnerabilities == nil:
		return fmt.Errorf("%w: no vulnerabilities although totalResults is %d", ErrBadPage, p.TotalResults)
	case len(p.Vulnerabilities) < want:
		return fmt.Errorf("%w: %d vulnerabilities, expected %d (totalResults %d, startIndex %d)",
			ErrBadPage, len(p.Vulnerabilities), want, p.TotalResults, startIndex)
	}
	for i, v := range p.Vulnerabilities {
		if len(v.CVE) == 0 || v.CVE[0] != '{' {
			return fmt.Errorf("%w: vulnerabilities[%d] has no cve object", ErrBadPage, i)
		}
	}
	return nil
}
