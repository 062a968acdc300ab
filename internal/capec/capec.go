package capec

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrInvalidID: an identifier is not "CAPEC-<n>" or "<n>".
	ErrInvalidID = errors.New("invalid CAPEC id")
	// ErrMalformed: the catalog does not parse, or an entry lacks what the
	// importer needs; the message names line and entry.
	ErrMalformed = errors.New("malformed CAPEC catalog")
	// ErrSchema: the catalog violates its XSD (strict validation).
	ErrSchema = errors.New("CAPEC catalog violates its schema")
	// ErrBadSchema: the XSD itself cannot be read or uses XML Schema features
	// this package does not implement.
	ErrBadSchema = errors.New("unsupported or malformed XSD")
	// ErrNotFound: no entry has the requested id (returned by stores).
	ErrNotFound = errors.New("CAPEC not found")
)

// Entry kinds, the value of the Kind field.
const (
	KindAttackPattern = "attack_pattern"
	KindCategory      = "category"
	KindView          = "view"
)

// ParseID accepts "CAPEC-66", "capec-66" or "66" and returns 66.
func ParseID(s string) (int, error) {
	t := strings.TrimSpace(s)
	if len(t) > 6 && strings.EqualFold(t[:6], "CAPEC-") {
		t = t[6:]
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || t[0] == '+' {
		return 0, fmt.Errorf("%w: %q", ErrInvalidID, s)
	}
	return n, nil
}

// FormatID returns "CAPEC-<n>".
func FormatID(n int) string { return "CAPEC-" + strconv.Itoa(n) }

var techniqueRE = regexp.MustCompile(`^T?([0-9]{4}(?:\.[0-9]{3})?)$`)

// TechniqueID turns an ATT&CK Entry_ID as CAPEC writes it ("1574.010") or an
// ATT&CK id ("T1574.010", "t1574") into the ATT&CK form "T1574.010".
func TechniqueID(s string) (string, error) {
	m := techniqueRE.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	if m == nil {
		return "", fmt.Errorf("%q is not an ATT&CK technique id", s)
	}
	return "T" + m[1], nil
}

// Catalog is one parsed CAPEC catalog.
type Catalog struct {
	Name           string          `json:"name"`
	Version        string          `json:"version"`
	Date           string          `json:"date"`
	AttackPatterns []AttackPattern `json:"attack_patterns"`
	Categories     []Category      `json:"categories,omitempty"`
	Views          []View          `json:"views,omitempty"`
}

// ParseCWEID accepts "CWE-79" or "79" and returns 79 (for the CAPEC → CWE
// links; the capec package does not import cwe).
func ParseCWEID(s string) (int, error) {
	t := strings.TrimSpace(s)
	if len(t) > 4 && strings.EqualFold(t[:4], "CWE-") {
		t = t[4:]
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || t[0] == '+' {
		return 0, fmt.Errorf("invalid CWE id %q", s)
	}
	return n, nil
}
