package cve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CVSS versions, in the order Best prefers them (newest first).
const (
	V40 = "4.0"
	V31 = "3.1"
	V30 = "3.0"
	V2  = "2.0"
)

// Score is one CVSS metric of a record: the one NVD marks Primary for its
// version, or else the first listed.
type Score struct {
	Version  string  // V40, V31, V30 or V2
	Base     float64 // 0..10
	Severity string  // LOW, MEDIUM, HIGH, CRITICAL (NONE for v3/v4 0.0)
	Vector   string
	Source   string
	Primary  bool
}

// KEV holds the CISA Known Exploited Vulnerabilities fields NVD copies into a
// record. ExploitAdd is non-empty exactly when the CVE is in the KEV catalog.
type KEV struct {
	ExploitAdd        string // YYYY-MM-DD
	ActionDue         string // YYYY-MM-DD
	RequiredAction    string
	VulnerabilityName string
}

// Product is a vendor/product pair from a configuration's CPE match
// criteria (cpe:2.3:part:vendor:product:...), unescaped and lower-cased.
type Product struct {
	Part       string // a (application), o (operating system), h (hardware)
	Vendor     string
	Product    string
	Vulnerable bool // at least one matching criterion is marked vulnerable
}

// Record is what v2e indexes of one NVD cve object.
type Record struct {
	ID           string // canonical, see NormalizeID
	Key          int64  // IDKey(ID)
	Source       string // sourceIdentifier
	Published    time.Time
	LastModified time.Time
	Status       string // vulnStatus: Received, Analyzed, Modified, Rejected, ...

	Description string   // the English description (the first if none is English)
	Texts       []string // every description value, for full-text search

	Scores   []Score // at most one per version, in V40, V31, V30, V2 order
	CWEs     []string
	Products []Product
	KEV      KEV
}

// Best is the score of the newest CVSS version present, or ok=false.
func (r *Record) Best() (s Score, ok bool) {
	if len(r.Scores) == 0 {
		return Score{}, false
	}
	return r.Scores[0], true
}

// ScoreFor returns the score of one version, if present.
func (r *Record) ScoreFor(version string) (Score, bool) {
	for _, s := range r.Scores {
		if s.Version == version {
			return s, true
		}
	}
	return Score{}, false
}

// InKEV reports whether the record carries CISA KEV fields.
func (r *Record) InKEV() bool { return r.KEV.ExploitAdd != "" }

// nvdCVE is the part of the NVD API 2.0 cve object that Extract reads.
type nvdCVE struct {
	ID               *string      `json:"id"`
	SourceIdentifier string       `json:"sourceIdentifier"`
	Published        *string      `json:"published"`
	LastModified     *string      `json:"lastModified"`
	VulnStatus       string       `json:"vulnStatus"`
	Descriptions     []langString `json:"descriptions"`
	Metrics          struct {
		V2  []metric `json:"cvssMetricV2"`
		V30 []metric `json:"cvssMetricV30"`
		V31 []metric `json:"cvssMetricV31"`
		V40 []metric `json:"cvssMetricV40"`
	} `json:"metrics"`
	Weaknesses            []weakness      `json:"weaknesses"`
	Configurations        []configuration `json:"configurations"`
	CisaExploitAdd        string          `json:"cisaExploitAdd"`
	CisaActionDue         string          `json:"cisaActionDue"`
	CisaRequiredAction    string          `json:"cisaRequiredAction"`
	CisaVulnerabilityName string          `json:"cisaVulnerabilityName"`
	CVE                   json.RawMessage `json:"cve"` // only to explain a wrapped record
}

type weakness struct {
	Description []langString `json:"description"`
}

type configuration struct {
	Nodes []node `json:"nodes"`
}

type node struct {
	CPEMatch []cpeMatch `json:"cpeMatch"`
}

type cpeMatch struct {
	Vulnerable *bool  `json:"vulnerable"`
	Criteria   string `json:"criteria"`
}

type langString struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}

type metric struct {
	Source       string `json:"source"`
	Type         string `json:"type"`
	BaseSeverity string `json:"baseSeverity"` // v2 keeps it here
	CVSSData     struct {
		Version      string   `json:"version"`
		VectorString string   `json:"vectorString"`
		BaseScore    *float64 `json:"baseScore"`
		BaseSeverity string   `json:"baseSeverity"`
	} `json:"cvssData"`
}

// Extract decodes one NVD API 2.0 cve object and returns its indexed fields.
// id, published and lastModified are required; dates, CVSS scores and KEV
// dates must be well-formed. Errors wrap ErrInvalid and name the field.
func Extract(raw json.RawMessage) (Record, error) {
	var c nvdCVE
	if err := decode(raw, &c); err != nil {
		return Record{}, err
	}
	return fromCVE(&c)
}

// ExtractCompact is Extract that also returns the record compacted (white
// space outside strings removed, as json.Compact does; raw itself when it
// has none), in one pass over raw for the usual compact NVD record.
func ExtractCompact(raw json.RawMessage) (Record, json.RawMessage, error) {
	if len(raw) > 0 && raw[0] == '{' {
		var c nvdCVE
		if ok, spaced := decodeFast(raw, &c); ok && !spaced {
			r, err := fromCVE(&c)
			return r, raw, err
		}
	}
	compact := raw
	if Spaced(raw) {
		var buf bytes.Buffer
		buf.Grow(len(raw))
		if err := json.Compact(&buf, raw); err != nil {
			return Record{}, nil, fmt.Errorf("%w: record is not JSON: %w", ErrInvalid, err)
		}
		compact = buf.Bytes()
	}
	r, err := Extract(compact) // also rejects what is not JSON
	return r, compact, err
}

// Spaced reports whether b has white space outside JSON strings, that is
// whether json.Compact would change it. NVD API pages are compact; the
// yearly feed files are indented.
func Spaced(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			return true
		}
	}
	return false
}

// fromCVE validates the decoded fields and builds the Record.
func fromCVE(c *nvdCVE) (Record, error) {
	if c.ID == nil {
		if c.CVE != nil {
			return Record{}, fmt.Errorf("%w: field id is missing (this looks like a vulnerabilities item: pass its \"cve\" object)", ErrInvalid)
		}
		return Record{}, fmt.Errorf("%w: field id is missing", ErrInvalid)
	}
	r := Record{Source: c.SourceIdentifier, Status: c.VulnStatus}
	var err error
	if r.ID, err = NormalizeID(*c.ID); err != nil {
		return Record{}, fieldErr("id", err)
	}
	r.Key, _ = IDKey(r.ID)
	if r.Published, err = requiredTime("published", c.Published); err != nil {
		return r, err
	}
	if r.LastModified, err = requiredTime("lastModified", c.LastModified); err != nil {
		return r, err
	}
	r.Description, r.Texts = descriptions(c.Descriptions)
	if r.Scores, err = scores(c); err != nil {
		return r, err
	}
	r.CWEs = cwes(c)
	if r.Products, err = products(c); err != nil {
		return r, err
	}
	if r.KEV, err = kev(c); err != nil {
		return r, err
	}
	return r, nil
}

func decode(raw json.RawMessage, c *nvdCVE) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("%w: a cve record must be a JSON object", ErrInvalid)
	}
	if ok, _ := decodeFast(raw, c); ok {
		return nil
	}
	*c = nvdCVE{}
	return decodeJSON(raw, c)
}

// decodeJSON decodes with encoding/json: the reference for decodeFast, and
// the path for anything decodeFast leaves to it.
func decodeJSON(raw json.RawMessage, c *nvdCVE) error {
	if err := json.Unmarshal(raw, c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%w: field %s: want %s, got JSON %s", ErrInvalid, te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("%w: record does not decode: %w", ErrInvalid, err)
	}
	return nil
}

func fieldErr(field string, err error) error {
	if errors.Is(err, ErrInvalid) {
		return fmt.Errorf("field %s: %w", field, err)
	}
	return fmt.Errorf("%w: field %s: %w", ErrInvalid, field, err)
}

func requiredTime(field string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, fmt.Errorf("%w: field %s is missing", ErrInvalid, field)
	}
	t, err := ParseTime(*s)
	if err != nil {
		return time.Time{}, fieldErr(field, err)
	}
	return t, nil
}

func descriptions(ds []langString) (en string, texts []string) {
	for _, d := range ds {
		if d.Value == "" {
			continue
		}
		texts = append(texts, d.Value)
		if en == "" && strings.HasPrefix(strings.ToLower(d.Lang), "en") {
			en = d.Value
		}
	}
	if en == "" && len(texts) > 0 {
		en = texts[0]
	}
	return en, texts
}

func cwes(c *nvdCVE) []string {
	var out []string
	for _, w := range c.Weaknesses {
		for _, d := range w.Description {
			v := strings.TrimSpace(d.Value)
			if v == "" || contains(out, v) {
				continue
			}
			out = append(out, v)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func kev(c *nvdCVE) (KEV, error) {
	k := KEV{c.CisaExploitAdd, c.CisaActionDue, c.CisaRequiredAction, c.CisaVulnerabilityName}
	for _, f := range []struct{ name, v string }{{"cisaExploitAdd", k.ExploitAdd}, {"cisaActionDue", k.ActionDue}} {
		if f.v == "" {
			continue
		}
		if _, err := time.Parse("2006-01-02", f.v); err != nil {
			return k, fmt.Errorf("%w: field %s: %q is not a date like 2024-03-29", ErrInvalid, f.name, f.v)
		}
	}
	return k, nil
}
