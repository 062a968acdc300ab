package cve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Sort keys of Search. A leading "-" sorts descending; ties are broken by id
// in the same direction, which makes keyset pagination stable.
const (
	SortPublished = "published"
	SortModified  = "last_modified"
	SortScore     = "cvss"
	SortID        = "id"
	DefaultSort   = "-" + SortPublished
)

// SearchQuery holds the parameters of RPCSearchCVEs. All are optional; set
// ones combine with AND. Call Validate (Search does) before reading the
// parsed fields.
type SearchQuery struct {
	Query         string   `json:"query"`          // full-text over descriptions: every word must occur (prefix with "word*")
	Severity      string   `json:"severity"`       // of the best score; one or a comma list: "HIGH,CRITICAL"
	CVSSMin       *float64 `json:"cvss_min"`       // best score >= this
	CVSSMax       *float64 `json:"cvss_max"`       // best score <= this
	CWEID         string   `json:"cwe_id"`         // "CWE-79" or "79" or "NVD-CWE-Other"
	Vendor        string   `json:"vendor"`         // CPE vendor, exact, case-insensitive
	Product       string   `json:"product"`        // CPE product, exact, case-insensitive
	PublishedFrom string   `json:"published_from"` // inclusive; NVD time, RFC 3339 or date
	PublishedTo   string   `json:"published_to"`   // inclusive; a bare date includes the whole day
	ModifiedFrom  string   `json:"modified_from"`
	ModifiedTo    string   `json:"modified_to"`
	Status        string   `json:"status"` // vulnStatus, case-insensitive
	KEV           *bool    `json:"kev"`    // true: only CISA KEV entries; false: only others
	Sort          string   `json:"sort"`   // published, last_modified, cvss, id; "-" prefix descending; default -published
	Cursor        string   `json:"cursor"` // next_cursor of the previous page
	Limit         int      `json:"limit"`  // default 100, max 1000

	// Set by Validate.
	Severities     []string  `json:"-"`
	PubFrom, PubTo time.Time `json:"-"` // To bounds are exclusive; zero = unbounded
	ModFrom, ModTo time.Time `json:"-"`
	SortField      string    `json:"-"`
	Descending     bool      `json:"-"`
	After          *Cursor   `json:"-"`
}

// ParseSearchQuery decodes RPCSearchCVEs params strictly (unknown fields and
// wrong types are errors naming the field) and validates them.
func ParseSearchQuery(params json.RawMessage) (SearchQuery, error) {
	var q SearchQuery
	if len(bytes.TrimSpace(params)) > 0 && string(bytes.TrimSpace(params)) != "null" {
		dec := json.NewDecoder(bytes.NewReader(params))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return q, fmt.Errorf("%w: field %s: want %s, got JSON %s", ErrInvalid, te.Field, te.Type, te.Value)
			}
			return q, fmt.Errorf("%w: search params: %w", ErrInvalid, err)
		}
	}
	return q, q.Validate()
}

// Validate checks every parameter, normalises them (upper-case severities,
// canonical CWE id, lower-case vendor/product) and fills the parsed fields.
// The error wraps ErrInvalid and names the first bad field.
func (q *SearchQuery) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: field %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
	}
	q.Query = strings.TrimSpace(q.Query)
	if len(q.Query) > 1000 {
		return bad("query", "longer than 1000 bytes")
	}
	q.Severities = nil
	if s := strings.TrimSpace(q.Severity); s != "" {
		for _, v := range strings.Split(s, ",") {
			v = strings.ToUpper(strings.TrimSpace(v))
			if !severities[v] {
				return bad("severity", "%q is not NONE, LOW, MEDIUM, HIGH or CRITICAL", v)
			}
			q.Severities = append(q.Severities, v)
		}
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"cvss_min", q.CVSSMin}, {"cvss_max", q.CVSSMax}} {
		if f.v != nil && (*f.v < 0 || *f.v > 10) {
			return bad(f.name, "%v is outside 0..10", *f.v)
		}
	}
	if q.CVSSMin != nil && q.CVSSMax != nil && *q.CVSSMin > *q.CVSSMax {
		return bad("cvss_min", "%v is greater than cvss_max %v", *q.CVSSMin, *q.CVSSMax)
	}
	if q.CWEID != "" {
		id, err := NormalizeCWE(q.CWEID)
		if err != nil {
			return bad("cwe_id", "%v", err)
		}
		q.CWEID = id
	}
	q.Vendor = strings.ToLower(strings.TrimSpace(q.Vendor))
	q.Product = strings.ToLower(strings.TrimSpace(q.Product))
	q.Status = strings.TrimSpace(q.Status)
	if err := q.parseDates(); err != nil {
		return err
	}
	if err := q.parseSort(); err != nil {
		return err
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultLimit
	case q.Limit < 0 || q.Limit > MaxLimit:
		return bad("limit", "%d is outside 1..%d", q.Limit, MaxLimit)
	}
	q.After = nil
	if q.Cursor != "" {
		c, err := DecodeCursor(q.Cursor)
		if err != nil {
			return bad("cursor", "%v", err)
		}
		if c.Sort != q.Sort {
			return bad("cursor", "it continues sort %q, not %q", c.Sort, q.Sort)
		}
		q.After = &c
	}
	return nil
}

func (q *SearchQuery) parseDates() error {
	for _, f := range []struct {
		name string
		s    string
		t    *time.Time
		to   bool
	}{
		{"published_from", q.PublishedFrom, &q.PubFrom, false},
		{"published_to", q.PublishedTo, &q.PubTo, true},
		{"modified_from", q.ModifiedFrom, &q.ModFrom, false},
		{"modified_to", q.ModifiedTo, &q.ModTo, true},
	} {
		*f.t = time.Time{}
		if f.s == "" {
			continue
		}
		t, err := ParseTime(strings.TrimSpace(f.s))
		if err != nil {
			return fmt.Errorf("%w: field %s: %w", ErrInvalid, f.name, err)
		}
		if f.to {
			// Make the bound exclusive: the whole day for a date, else the next microsecond.
			if len(strings.TrimSpace(f.s)) == len("2006-01-02") {
				t = t.AddDate(0, 0, 1)
			} else {
				t = t.Add(time.Microsecond)
			}
		}
		*f.t = t
	}
	if !q.PubFrom.IsZero() && !q.PubTo.IsZero() && !q.PubFrom.Before(q.PubTo) {
		return fmt.Errorf("%w: field published_from: %q is after published_to %q", ErrInvalid, q.PublishedFrom, q.PublishedTo)
	}
	if !q.ModFrom.IsZero() && !q.ModTo.IsZero() && !q.ModFrom.Before(q.ModTo) {
		return fmt.Errorf("%w: field modified_from: %q is after modified_to %q", ErrInvalid, q.ModifiedFrom, q.ModifiedTo)
	}
	return nil
}

func (q *SearchQuery) parseSort() error {
	s := strings.TrimSpace(q.Sort)
	if s == "" {
		s = DefaultSort
	}
	q.Sort = s
	q.Descending = strings.HasPrefix(s, "-")
	q.SortField = strings.TrimPrefix(s, "-")
	switch q.SortField {
	case SortPublished, SortModified, SortScore, SortID:
		return nil
	}
	return fmt.Errorf("%w: field sort: %q is not published, last_modified, cvss or id (\"-\" prefix for descending)", ErrInvalid, q.Sort)
}

// NormalizeCWE turns "79", "cwe-79" or "CWE-79" into "CWE-79"; NVD's
// placeholders "NVD-CWE-Other" and "NVD-CWE-noinfo" are kept.
func NormalizeCWE(id string) (string, error) {
	s := strings.TrimSpace(id)
	switch strings.ToLower(s) {
	case "nvd-cwe-other":
		return "NVD-CWE-Other", nil
	case "nvd-cwe-noinfo":
		return "NVD-CWE-noinfo", nil
	}
	if len(s) >= 4 && strings.EqualFold(s[:4], "CWE-") {
		s = s[4:]
	}
	if !digits(s) || len(s) > 9 {
		return "", fmt.Errorf("%q is not a CWE id like CWE-79 or 79", id)
	}
	return "CWE-" + strings.TrimLeft(s, "0"), nil
}

// Cursor is the position after the last hit of a page: the sort key's value
// there and the id key (IDKey) that breaks ties.
type Cursor struct {
	Sort  string  `json:"s"`
	Value float64 `json:"v"` // unix microseconds for dates, the score for cvss, the id key for id
	Key   int64   `json:"k"`
}

// Encode returns the opaque cursor string.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a string made by Encode.
func DecodeCursor(s string) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, errors.New("not a cursor returned by a previous search")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Sort == "" {
		return c, errors.New("not a cursor returned by a previous search")
	}
	return c, nil
}

// FTSQuery turns user text into an SQLite FTS5 query in which every word
// must occur. Words are split at anything but letters and digits, as the
// unicode61 tokenizer does ("cross-site" is "cross" and "site"), and each is
// quoted, so FTS5 operators in the text are plain words. A word ending in
// "*" matches as a prefix. It returns "" if no word remains.
func FTSQuery(text string) string {
	var terms []string
	for _, w := range strings.Fields(text) {
		prefix := strings.HasSuffix(w, "*")
		tokens := strings.FieldsFunc(w, func(r rune) bool { return !isWordRune(r) })
		for i, tok := range tokens {
			t := `"` + tok + `"`
			if prefix && i == len(tokens)-1 {
				t += "*"
			}
			terms = append(terms, t)
		}
	}
	return strings.Join(terms, " ")
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}
