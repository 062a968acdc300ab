package cve

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error about bad input: a malformed id, a
// record that does not decode or lacks a required field, a bad search
// parameter, an oversize batch. The message names the field or record.
var ErrInvalid = errors.New("invalid input")

// ErrNotFound is wrapped by errors about a CVE id that is not stored.
var ErrNotFound = errors.New("not found")

// NormalizeID returns id in canonical form ("CVE-2021-44228"): surrounding
// space trimmed and the prefix upper-cased. The year must have four digits
// and the sequence number at least four, with no leading zero when longer
// than four (the CVE numbering rules). Errors wrap ErrInvalid.
func NormalizeID(id string) (string, error) {
	_, _, norm, err := parseID(id)
	return norm, err
}

// IDKey maps a valid id to an integer that sorts like the ids do numerically
// (CVE-2021-9999 before CVE-2021-10000): year*1e10 + sequence number.
func IDKey(id string) (int64, error) {
	year, seq, _, err := parseID(id)
	if err != nil {
		return 0, err
	}
	return year*1e10 + seq, nil
}

func parseID(id string) (year, seq int64, norm string, err error) {
	s := strings.TrimSpace(id)
	bad := func(why string) error {
		return fmt.Errorf("%w: cve_id %q: %s", ErrInvalid, id, why)
	}
	if len(s) < 4 || !strings.EqualFold(s[:4], "CVE-") {
		return 0, 0, "", bad("want CVE-YYYY-NNNN")
	}
	rest := s[4:]
	y, n, ok := strings.Cut(rest, "-")
	if !ok || len(y) != 4 || !digits(y) {
		return 0, 0, "", bad("want a four-digit year after CVE-")
	}
	if len(n) < 4 || len(n) > 10 || !digits(n) {
		return 0, 0, "", bad("want a sequence number of 4 to 10 digits")
	}
	if len(n) > 4 && n[0] == '0' {
		return 0, 0, "", bad("a sequence number longer than 4 digits cannot start with 0")
	}
	year = atoi(y)
	if year < 1999 {
		return 0, 0, "", bad("year before 1999")
	}
	return year, atoi(n), "CVE-" + y + "-" + n, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func atoi(s string) int64 {
	var v int64
	for i := 0; i < len(s); i++ {
		v = v*10 + int64(s[i]-'0')
	}
	return v
}

// TimeLayout is how NVD writes times: no zone, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000"

// ParseTime parses an NVD time ("2024-03-29T17:15:21.150", zone-less and
// therefore UTC), an RFC 3339 time with a zone, or a bare date
// ("2024-03-29", midnight UTC).
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2024-03-29T17:15:21.150 or 2024-03-29", s)
}

// FormatTime writes t the way NVD does.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }
