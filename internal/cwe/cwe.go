package cwe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrInvalidID: an identifier is not "CWE-<n>" or "<n>" with n a positive integer.
	ErrInvalidID = errors.New("invalid CWE id")
	// ErrMalformed: the input is not a well-formed catalog (syntax, truncation,
	// missing or ill-typed required fields). The message names line and field.
	ErrMalformed = errors.New("malformed CWE catalog")
	// ErrNotFound: no entry has the requested id (returned by stores).
	ErrNotFound = errors.New("CWE not found")
)

// Entry kinds, the value of the Kind field.
const (
	KindWeakness = "weakness"
	KindCategory = "category"
	KindView     = "view"
)

// ParseID accepts "CWE-79", "cwe-79" or "79" and returns 79.
func ParseID(s string) (int, error) {
	t := strings.TrimSpace(s)
	if len(t) > 4 && strings.EqualFold(t[:4], "CWE-") {
		t = t[4:]
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || t[0] == '+' {
		return 0, fmt.Errorf("%w: %q", ErrInvalidID, s)
	}
	return n, nil
}

// FormatID returns "CWE-<n>".
func FormatID(n int) string { return "CWE-" + strconv.Itoa(n) }

// ParseCAPECID accepts "CAPEC-66" or "66" and returns 66.
func ParseCAPECID(s string) (int, error) {
	t := strings.TrimSpace(s)
	if len(t) > 6 && strings.EqualFold(t[:6], "CAPEC-") {
		t = t[6:]
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || t[0] == '+' {
		return 0, fmt.Errorf("invalid CAPEC id %q", s)
	}
	return n, nil
}

// Catalog is one parsed CWE catalog.
type Catalog struct {
	Name       string     `json:"name,omitempty"`
	Version    string     `json:"version,omitempty"`
	Date       string     `json:"date,omitempty"`
	Weaknesses []Weakness `json:"weaknesses"`
	Categories []Category `json:"categories,omitempty"`
	Views      []View     `json:"views,omitempty"`
}

// CAPECLinks counts the weakness → attack pattern links of the catalog.
func (c *Catalog) CAPECLinks() int {
	n := 0
	for i := range c.Weaknesses {
		n += len(c.Weaknesses[i].RelatedAttackPatterns)
	}
	return n
}
