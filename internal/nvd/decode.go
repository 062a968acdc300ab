package nvd

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// DecodePage reads an API 2.0 page as json.Unmarshal into Page does, and
// returns the same page or the same error. Pages run to megabytes: the
// usual page is read with ScanObject, once, at several times the speed of
// encoding/json; anything out of the ordinary (a key spelt in another case,
// a null, a string with escapes, a malformed body) is left to
// encoding/json, so that the result never differs. The records are copied
// out of body (which the caller may reuse), into one allocation, and
// compacted (white space outside strings removed) where they hold any, as
// ParseRecord does for feeds; the page compares equal to encoding/json's
// once both are compacted.
func DecodePage(body []byte) (Page, error) {
	if p, err := scanPage(body); err == nil {
		return p, nil
	}
	var p Page
	if err := json.Unmarshal(body, &p); err != nil {
		return p, err
	}
	for i, v := range p.Vulnerabilities {
		var c bytes.Buffer
		if json.Compact(&c, v.CVE) == nil && c.Len() < len(v.CVE) {
			p.Vulnerabilities[i].CVE = c.Bytes()
		}
	}
	return p, nil
}

// errUnusual sends DecodePage to encoding/json.
var errUnusual = errors.New("nvd: page needs encoding/json")

var pageKeys = []string{"resultsPerPage", "startIndex", "totalResults", "format", "version", "timestamp", "vulnerabilities"}

func scanPage(body []byte) (Page, error) {
	var p Page
	size := 0
	var spaced []bool // spaced[i]: record i holds white space
	err := ScanObject(body, func(key, value []byte) error {
		if string(value) == "null" {
			return errUnusual
		}
		var err error
		switch string(key) {
		case "resultsPerPage":
			p.ResultsPerPage, err = RawInt(value)
		case "startIndex":
			p.StartIndex, err = RawInt(value)
		case "totalResults":
			p.TotalResults, err = RawInt(value)
		case "format":
			p.Format, err = plainString(value)
		case "version":
			p.Version, err = plainString(value)
		case "timestamp":
			p.Timestamp, err = plainString(value)
		case "vulnerabilities":
			if p.Vulnerabilities != nil {
				return errUnusual // encoding/json reuses the elements of the first
			}
			p.Vulnerabilities, spaced = make([]Vulnerability, 0, 2000), make([]bool, 0, 2000)
			var raw json.RawMessage // the item's cve object
			var sp bool
			err = scanObjects(value, func(key, value []byte, vsp bool) error {
				switch {
				case string(key) == "cve":
					if string(value) == "null" {
						return errUnusual
					}
					raw, sp = value, vsp
				case foldsTo(key, "cve"):
					return errUnusual
				}
				return nil
			}, func(int) error {
				size += len(raw)
				p.Vulnerabilities = append(p.Vulnerabilities, Vulnerability{CVE: raw})
				spaced = append(spaced, sp)
				raw, sp = nil, false
				return nil
			})
		default:
			if foldsTo(key, pageKeys...) {
				return errUnusual
			}
		}
		if err != nil {
			return errUnusual
		}
		return nil
	})
	if err != nil {
		return Page{}, err
	}
	own(p.Vulnerabilities, spaced, size)
	return p, nil
}

// own copies the records into one new buffer, compacting those that hold
// white space, and points the page at the copies.
func own(vs []Vulnerability, spaced []bool, size int) {
	buf := make([]byte, 0, size)
	for i, v := range vs {
		start := len(buf)
		if spaced[i] {
			var c bytes.Buffer
			_ = json.Compact(&c, v.CVE) // cannot fail: ScanObject checked it
			buf = append(buf, c.Bytes()...)
		} else {
			buf = append(buf, v.CVE...)
		}
		if v.CVE != nil {
			vs[i].CVE = buf[start:len(buf):len(buf)]
		}
	}
}

// plainString is a JSON string without escapes, in valid UTF-8 (the case
// where encoding/json's value is its bytes).
func plainString(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
		return "", errUnusual
	}
	return string(v[1 : len(v)-1]), nil
}

// foldsTo reports whether key matches one of names the way encoding/json
// matches field names (case-insensitively).
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}
