package cve

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// scanner is a single-pass reader of an NVD cve object: it validates the
// whole JSON text and fills the fields of nvdCVE that Extract reads, several
// times cheaper than encoding/json's reflection. It handles the shape NVD
// sends; anything else (a field of another type, null, a key that differs
// from a known one only in case or is escaped, a known key given twice,
// deep nesting) makes it give up (ok false), and the caller decodes with
// encoding/json instead, so results and errors stay those of encoding/json.
// spaced is set when white space occurs outside strings.
type scanner struct {
	b      []byte
	i      int
	spaced bool
}

// maxScanDepth is the nesting the scanner follows before giving up.
const maxScanDepth = 64

// decodeFast fills c from b, an object with nothing before or after it. It
// reports false if encoding/json must decide instead.
func decodeFast(b []byte, c *nvdCVE) (ok, spaced bool) {
	s := scanner{b: b}
	if !s.cve(c) {
		return false, false
	}
	s.ws()
	return s.i == len(s.b), s.spaced
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.spaced = true
			s.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte (0 at the end).
func (s *scanner) next() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// eat consumes c if it comes next.
func (s *scanner) eat(c byte) bool {
	if s.next() == c {
		s.i++
		return true
	}
	return false
}

// object walks the members of an object, calling member with each key
// (raw bytes between the quotes; keys with escapes are refused). member
// must consume the value.
func (s *scanner) object(member func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		if s.next() != '"' {
			return false
		}
		start := s.i + 1
		esc, ok := s.skipString()
		if !ok || esc {
			return false
		}
		key := s.b[start : s.i-1]
		if !s.eat(':') || !member(key) {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

// array walks the elements of an array, calling elem for each; elem must
// consume the value.
func (s *scanner) array(elem func() bool) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat(']')
	}
}

// skipString consumes a string starting at s.i (a quote) and reports
// whether it holds escapes. It accepts what encoding/json's scanner accepts:
// no control characters, valid escapes; bytes that are not UTF-8 are left
// for the caller.
func (s *scanner) skipString() (esc, ok bool) {
	b := s.b
	i := s.i + 1
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return esc, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return esc, false
				}
				i += 6
			default:
				return esc, false
			}
		case c < 0x20:
			return esc, false
		default:
			i++
		}
	}
	return esc, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// str reads a string value as encoding/json would decode it.
func (s *scanner) str(dst *string) bool {
	if s.next() != '"' {
		return false
	}
	start := s.i
	esc, ok := s.skipString()
	if !ok {
		return false
	}
	raw := s.b[start+1 : s.i-1]
	if !esc && ascii(raw) {
		*dst = string(raw)
		return true
	}
	if !esc && utf8.Valid(raw) {
		*dst = string(raw)
		return true
	}
	// Escapes or bytes that are not UTF-8: let encoding/json unquote it.
	return json.Unmarshal(s.b[start:s.i], dst) == nil
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (s *scanner) strPtr(dst **string) bool {
	var v string
	if !s.str(&v) {
		return false
	}
	*dst = &v
	return true
}

// number consumes a JSON number and returns its text.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	b := s.b
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	num := b[s.i:i]
	s.i = i
	return num, true
}

func (s *scanner) float(dst **float64) bool {
	num, ok := s.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return false
	}
	*dst = &f
	return true
}

func (s *scanner) boolPtr(dst **bool) bool {
	v := false
	switch {
	case s.literal("true"):
		v = true
	case s.literal("false"):
	default:
		return false
	}
	*dst = &v
	return true
}

func (s *scanner) literal(lit string) bool {
	s.ws()
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// skip validates and consumes any value.
func (s *scanner) skip(depth int) bool {
	if depth > maxScanDepth {
		return false
	}
	switch s.next() {
	case '"':
		_, ok := s.skipString()
		return ok
	case '{':
		return s.object(func([]byte) bool { return s.skip(depth + 1) })
	case '[':
		return s.array(func() bool { return s.skip(depth + 1) })
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	_, ok := s.number()
	return ok
}

// fields tracks which known keys of one object were seen, so that a
// repeated one (which encoding/json would merge or overwrite) hands the
// record to encoding/json.
type fields uint32

func (f *fields) first(bit int) bool {
	if *f&(1<<bit) != 0 {
		return false
	}
	*f |= 1 << bit
	return true
}

// unknown consumes the value of a key the struct does not have, unless the
// key matches a known one case-insensitively (encoding/json would fill it).
func (s *scanner) unknown(key []byte, known []string) bool {
	if !ascii(key) {
		return false // encoding/json folds some non-ASCII letters to ASCII ones
	}
	for _, k := range known {
		if strings.EqualFold(string(key), k) {
			return false
		}
	}
	return s.skip(1)
}

var (
	cveKeys = []string{"id", "sourceIdentifier", "published", "lastModified", "vulnStatus", "descriptions",
		"metrics", "weaknesses", "configurations", "cisaExploitAdd", "cisaActionDue", "cisaRequiredAction",
		"cisaVulnerabilityName", "cve"}
	langKeys     = []string{"lang", "value"}
	metricsKeys  = []string{"cvssMetricV2", "cvssMetricV30", "cvssMetricV31", "cvssMetricV40"}
	metricKeys   = []string{"source", "type", "baseSeverity", "cvssData"}
	cvssKeys     = []string{"version", "vectorString", "baseScore", "baseSeverity"}
	weakKeys     = []string{"description"}
	configKeys   = []string{"nodes"}
	nodeKeys     = []string{"cpeMatch"}
	cpeMatchKeys = []string{"vulnerable", "criteria"}
)

// cve reads the top-level object.
func (s *scanner) cve(c *nvdCVE) bool {
	var seen fields
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return seen.first(0) && s.strPtr(&c.ID)
		case "sourceIdentifier":
			return seen.first(1) && s.str(&c.SourceIdentifier)
		case "published":
			return seen.first(2) && s.strPtr(&c.Published)
		case "lastModified":
			return seen.first(3) && s.strPtr(&c.LastModified)
		case "vulnStatus":
			return seen.first(4) && s.str(&c.VulnStatus)
		case "descriptions":
			return seen.first(5) && s.langStrings(&c.Descriptions)
		case "metrics":
			return seen.first(6) && s.metrics(c)
		case "weaknesses":
			return seen.first(7) && s.weaknesses(c)
		case "configurations":
			return seen.first(8) && s.configurations(c)
		case "cisaExploitAdd":
			return seen.first(9) && s.str(&c.CisaExploitAdd)
		case "cisaActionDue":
			return seen.first(10) && s.str(&c.CisaActionDue)
		case "cisaRequiredAction":
			return seen.first(11) && s.str(&c.CisaRequiredAction)
		case "cisaVulnerabilityName":
			return seen.first(12) && s.str(&c.CisaVulnerabilityName)
		case "cve":
			return false // a wrapped record: encoding/json explains it
		}
		return s.unknown(key, cveKeys)
	})
}

func (s *scanner) langStrings(dst *[]langString) bool {
	list := make([]langString, 0)
	ok := s.array(func() bool {
		var l langString
		var seen fields
		ok := s.object(func(key []byte) bool {
			switch string(key) {
			case "lang":
				return seen.first(0) && s.str(&l.Lang)
			case "value":
				return seen.first(1) && s.str(&l.Value)
			}
			return s.unknown(key, langKeys)
		})
		list = append(list, l)
		return ok
	})
	*dst = list
	return ok
}

func (s *scanner) metrics(c *nvdCVE) bool {
	var seen fields
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "cvssMetricV2":
			return seen.first(0) && s.metricList(&c.Metrics.V2)
		case "cvssMetricV30":
			return seen.first(1) && s.metricList(&c.Metrics.V30)
		case "cvssMetricV31":
			return seen.first(2) && s.metricList(&c.Metrics.V31)
		case "cvssMetricV40":
			return seen.first(3) && s.metricList(&c.Metrics.V40)
		}
		return s.unknown(key, metricsKeys)
	})
}

func (s *scanner) metricList(dst *[]metric) bool {
	list := make([]metric, 0)
	ok := s.array(func() bool {
		var m metric
		ok := s.metric(&m)
		list = append(list, m)
		return ok
	})
	*dst = list
	return ok
}

func (s *scanner) metric(m *metric) bool {
	var seen fields
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "source":
			return seen.first(0) && s.str(&m.Source)
		case "type":
			return seen.first(1) && s.str(&m.Type)
		case "baseSeverity":
			return seen.first(2) && s.str(&m.BaseSeverity)
		case "cvssData":
			return seen.first(3) && s.cvssData(m)
		}
		return s.unknown(key, metricKeys)
	})
}

func (s *scanner) cvssData(m *metric) bool {
	var seen fields
	d := &m.CVSSData
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "version":
			return seen.first(0) && s.str(&d.Version)
		case "vectorString":
			return seen.first(1) && s.str(&d.VectorString)
		case "baseScore":
			return seen.first(2) && s.float(&d.BaseScore)
		case "baseSeverity":
			return seen.first(3) && s.str(&d.BaseSeverity)
		}
		return s.unknown(key, cvssKeys)
	})
}

func (s *scanner) weaknesses(c *nvdCVE) bool {
	list := make([]weakness, 0)
	ok := s.array(func() bool {
		var w weakness
		var seen fields
		ok := s.object(func(key []byte) bool {
			if string(key) == "description" {
				return seen.first(0) && s.langStrings(&w.Description)
			}
			return s.unknown(key, weakKeys)
		})
		list = append(list, w)
		return ok
	})
	c.Weaknesses = list
	return ok
}

func (s *scanner) configurations(c *nvdCVE) bool {
	list := make([]configuration, 0)
	ok := s.array(func() bool {
		var cfg configuration
		var seen fields
		ok := s.object(func(key []byte) bool {
			if string(key) == "nodes" {
				return seen.first(0) && s.nodes(&cfg.Nodes)
			}
			return s.unknown(key, configKeys)
		})
		list = append(list, cfg)
		return ok
	})
	c.Configurations = list
	return ok
}

func (s *scanner) nodes(dst *[]node) bool {
	list := make([]node, 0)
	ok := s.array(func() bool {
		var n node
		var seen fields
		ok := s.object(func(key []byte) bool {
			if string(key) == "cpeMatch" {
				return seen.first(0) && s.cpeMatches(&n.CPEMatch)
			}
			return s.unknown(key, nodeKeys)
		})
		list = append(list, n)
		return ok
	})
	*dst = list
	return ok
}

func (s *scanner) cpeMatches(dst *[]cpeMatch) bool {
	list := make([]cpeMatch, 0)
	ok := s.array(func() bool {
		var m cpeMatch
		var seen fields
		ok := s.object(func(key []byte) bool {
			switch string(key) {
			case "vulnerable":
				return seen.first(0) && s.boolPtr(&m.Vulnerable)
			case "criteria":
				return seen.first(1) && s.str(&m.Criteria)
			}
			return s.unknown(key, cpeMatchKeys)
		})
		list = append(list, m)
		return ok
	})
	*dst = list
	return ok
}
