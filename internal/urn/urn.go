// Package urn parses and builds the resource names of the Unified ETL Engine.
//
// A URN has the form
//
//	v2e::<provider>::<type>::<atomic_id>
//
// where provider is one of nvd, mitre, ssg and type one of cve, cwe, capec,
// attack, ssg (contract §6), for example v2e::nvd::cve::CVE-2021-44228 or
// v2e::mitre::attack::T1059.001. Names are case-sensitive and written in lower
// case; the atomic id is kept as given.
//
// A URN is a small comparable value: == and Equal agree, and the zero URN
// (IsZero) stands for "no URN". Parse does not allocate: the URN keeps the
// parsed string and slices its id from it. Key returns a compact ordered form
// for use as a bbolt key (provider byte, type byte, id), so all URNs of one
// provider and type sort together, by id.
package urn

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by Parse, New and ParseKey, wrapped with the offending input.
var (
	// ErrPrefix means the string does not start with "v2e::".
	ErrPrefix = errors.New("urn: invalid prefix")
	// ErrProvider means the provider segment is not nvd, mitre or ssg.
	ErrProvider = errors.New("urn: invalid provider")
	// ErrType means the type segment is not cve, cwe, capec, attack or ssg.
	ErrType = errors.New("urn: invalid type")
	// ErrEmptyID means the atomic id is empty.
	ErrEmptyID = errors.New("urn: empty id")
	// ErrID means the atomic id holds a separator ("::"), starts or ends
	// with ':', holds white space or a control byte, or is longer than
	// MaxIDLen bytes.
	ErrID = errors.New("urn: invalid id")
	// ErrKey means a byte key given to ParseKey is not one Key produced.
	ErrKey = errors.New("urn: invalid key")
)

// Prefix starts every URN; Sep separates its segments.
const (
	Prefix = "v2e::"
	Sep    = "::"
)

// MaxIDLen is the longest atomic id accepted, in bytes.
const MaxIDLen = 256

// Provider is the source of a resource.
type Provider uint8

// Providers. The zero Provider is invalid.
const (
	NVD Provider = iota + 1
	MITRE
	SSG
)

var providerNames = [...]string{NVD: "nvd", MITRE: "mitre", SSG: "ssg"}

// String returns the provider's name as written in a URN, or "" if p is invalid.
func (p Provider) String() string {
	if p == 0 || int(p) >= len(providerNames) {
		return ""
	}
	return providerNames[p]
}

// ParseProvider returns the Provider named s, or an error wrapping ErrProvider.
func ParseProvider(s string) (Provider, error) {
	switch s {
	case "nvd":
		return NVD, nil
	case "mitre":
		return MITRE, nil
	case "ssg":
		return SSG, nil
	}
	return 0, fmt.Errorf("%w %q (want nvd, mitre or ssg)", ErrProvider, s)
}

// Type is the kind of a resource.
type Type uint8

// Types. The zero Type is invalid.
const (
	CVE Type = iota + 1
	CWE
	CAPEC
	ATTACK
	SSGType
)

var typeNames = [...]string{CVE: "cve", CWE: "cwe", CAPEC: "capec", ATTACK: "attack", SSGType: "ssg"}

// String returns the type's name as written in a URN, or "" if t is invalid.
func (t Type) String() string {
	if t == 0 || int(t) >= len(typeNames) {
		return ""
	}
	return typeNames[t]
}

// ParseType returns the Type named s, or an error wrapping ErrType.
func ParseType(s string) (Type, error) {
	switch s {
	case "cve":
		return CVE, nil
	case "cwe":
		return CWE, nil
	case "capec":
		return CAPEC, nil
	case "attack":
		return ATTACK, nil
	case "ssg":
		return SSGType, nil
	}
	return 0, fmt.Errorf("%w %q (want cve, cwe, capec, attack or ssg)", ErrType, s)
}

// URN is a parsed resource name. The zero value is the empty URN.
type URN struct {
	s        string // canonical text
	provider Provider
	typ      Type
}

// Parse parses a URN. It returns an error wrapping ErrPrefix, ErrProvider,
// ErrType, ErrEmptyID or ErrID that quotes the input.
func Parse(s string) (URN, error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return URN{}, fmt.Errorf("%w: %q does not start with %q", ErrPrefix, s, Prefix)
	}
	ps, rest, ok := strings.Cut(rest, Sep)
	if !ok {
		return URN{}, fmt.Errorf("%w: %q has no type segment", ErrType, s)
	}
	p, err := ParseProvider(ps)
	if err != nil {
		return URN{}, fmt.Errorf("%w in %q", err, s)
	}
	ts, id, ok := strings.Cut(rest, Sep)
	if !ok {
		return URN{}, fmt.Errorf("%w: %q has no id segment", ErrEmptyID, s)
	}
	t, err := ParseType(ts)
	if err != nil {
		return URN{}, fmt.Errorf("%w in %q", err, s)
	}
	if err := checkID(id); err != nil {
		return URN{}, fmt.Errorf("%w in %q", err, s)
	}
	return URN{s: s, provider: p, typ: t}, nil
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) URN {
	u, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// New builds a URN from its parts, validating each as Parse does.
func New(p Provider, t Type, id string) (URN, error) {
	if p.String() == "" {
		return URN{}, fmt.Errorf("%w %d", ErrProvider, p)
	}
	if t.String() == "" {
		return URN{}, fmt.Errorf("%w %d", ErrType, t)
	}
	if err := checkID(id); err != nil {
		return URN{}, err
	}
	return URN{s: Prefix + p.String() + Sep + t.String() + Sep + id, provider: p, typ: t}, nil
}

// checkID reports whether id is a valid atomic id.
func checkID(id string) error {
	if id == "" {
		return ErrEmptyID
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("%w: id is %d bytes long (max %d)", ErrID, len(id), MaxIDLen)
	}
	if id[0] == ':' || id[len(id)-1] == ':' {
		return fmt.Errorf("%w: id %q starts or ends with ':'", ErrID, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c == 0x7f {
			return fmt.Errorf("%w: id %q has a space or control byte at %d", ErrID, id, i)
		}
		if c == ':' && i+1 < len(id) && id[i+1] == ':' {
			return fmt.Errorf("%w: id %q holds the separator %q", ErrID, id, Sep)
		}
	}
	return nil
}

// Provider returns the URN's provider.
func (u URN) Provider() Provider { return u.provider }

// Type returns the URN's type.
func (u URN) Type() Type { return u.typ }

// ID returns the atomic id.
func (u URN) ID() string {
	if u.s == "" {
		return ""
	}
	return u.s[len(Prefix)+len(u.provider.String())+len(Sep)+len(u.typ.String())+len(Sep):]
}

// String returns the canonical text form, or "" for the zero URN.
func (u URN) String() string { return u.s }

// IsZero reports whether u is the zero URN.
func (u URN) IsZero() bool { return u.s == "" }

// Equal reports whether u and v name the same resource.
func (u URN) Equal(v URN) bool { return u == v }
