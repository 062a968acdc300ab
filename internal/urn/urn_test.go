package urn

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want error
		p    Provider
		typ  Type
		id   string
	}{
		{in: "v2e::nvd::cve::CVE-2021-44228", p: NVD, typ: CVE, id: "CVE-2021-44228"},
		{in: "v2e::mitre::attack::T1059.001", p: MITRE, typ: ATTACK, id: "T1059.001"},
		{in: "v2e::mitre::cwe::CWE-79", p: MITRE, typ: CWE, id: "CWE-79"},
		{in: "v2e::mitre::capec::CAPEC-66", p: MITRE, typ: CAPEC, id: "CAPEC-66"},
		{in: "v2e::ssg::ssg::xccdf_org.ssgproject.content_rule_sshd_disable_root_login", p: SSG, typ: SSGType, id: "xccdf_org.ssgproject.content_rule_sshd_disable_root_login"},
		{in: "v2e::nvd::cve::a:b", p: NVD, typ: CVE, id: "a:b"},
		{in: "", want: ErrPrefix},
		{in: "v2e:nvd::cve::CVE-1", want: ErrPrefix},
		{in: "V2E::nvd::cve::CVE-1", want: ErrPrefix},
		{in: "urn::nvd::cve::CVE-1", want: ErrPrefix},
		{in: " v2e::nvd::cve::CVE-1", want: ErrPrefix},
		{in: "v2e::NVD::cve::CVE-1", want: ErrProvider},
		{in: "v2e::cisa::cve::CVE-1", want: ErrProvider},
		{in: "v2e::::cve::CVE-1", want: ErrProvider},
		{in: "v2e::nvd:x::cve::CVE-1", want: ErrProvider},
		{in: "v2e::nvd", want: ErrType},
		{in: "v2e::nvd::", want: ErrEmptyID},
		{in: "v2e::nvd::CVE::CVE-1", want: ErrType},
		{in: "v2e::nvd::kev::CVE-1", want: ErrType},
		{in: "v2e::nvd::::CVE-1", want: ErrType},
		{in: "v2e::nvd::cve", want: ErrEmptyID},
		{in: "v2e::nvd::cve::", want: ErrEmptyID},
		{in: "v2e::nvd::cve::CVE-1::x", want: ErrID},
		{in: "v2e::nvd::cve:::x", want: ErrID},
		{in: "v2e::nvd::cve::x:", want: ErrID},
		{in: "v2e::nvd::cve::CVE 1", want: ErrID},
		{in: "v2e::nvd::cve::CVE-1\n", want: ErrID},
		{in: "v2e::nvd::cve::" + strings.Repeat("x", MaxIDLen+1), want: ErrID},
	}
	for _, tt := range tests {
		u, err := Parse(tt.in)
		if tt.want != nil {
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse(%q) error = %v, want %v", tt.in, err, tt.want)
			}
			if err != nil && tt.in != "" && !strings.Contains(err.Error(), tt.in[:min(len(tt.in), 12)]) {
				t.Errorf("Parse(%q) error %q does not quote the input", tt.in, err)
			}
			if !u.IsZero() {
				t.Errorf("Parse(%q) = %v on error, want zero", tt.in, u)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if u.Provider() != tt.p || u.Type() != tt.typ || u.ID() != tt.id || u.String() != tt.in {
			t.Errorf("Parse(%q) = %v/%v/%q/%q", tt.in, u.Provider(), u.Type(), u.ID(), u.String())
		}
	}
}

func TestNew(t *testing.T) {
	u, err := New(NVD, CVE, "CVE-2021-44228")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.String(); got != "v2e::nvd::cve::CVE-2021-44228" {
		t.Errorf("String() = %q", got)
	}
	if !u.Equal(MustParse("v2e::nvd::cve::CVE-2021-44228")) {
		t.Error("New and Parse of the same name are not Equal")
	}
	if u.Equal(MustParse("v2e::nvd::cve::CVE-2021-44229")) {
		t.Error("different ids are Equal")
	}
	for _, tt := range []struct {
		p    Provider
		t    Type
		id   string
		want error
	}{
		{0, CVE, "x", ErrProvider},
		{SSG + 1, CVE, "x", ErrProvider},
		{NVD, 0, "x", ErrType},
		{NVD, SSGType + 1, "x", ErrType},
		{NVD, CVE, "", ErrEmptyID},
		{NVD, CVE, "a::b", ErrID},
	} {
		if _, err := New(tt.p, tt.t, tt.id); !errors.Is(err, tt.want) {
			t.Errorf("New(%d, %d, %q) error = %v, want %v", tt.p, tt.t, tt.id, err, tt.want)
		}
	}
}

func TestZero(t *testing.T) {
	var u URN
	if !u.IsZero() || u.String() != "" || u.ID() != "" || u.Key() != nil {
		t.Errorf("zero URN: %q %q %v", u.String(), u.ID(), u.Key())
	}
}

func TestKeyOrderAndRoundTrip(t *testing.T) {
	names := []string{
		"v2e::nvd::cve::CVE-2021-44228",
		"v2e::nvd::cve::CVE-2021-44229",
		"v2e::mitre::cwe::CWE-79",
		"v2e::mitre::capec::CAPEC-66",
		"v2e::mitre::attack::T1059",
		"v2e::mitre::attack::T1059.001",
		"v2e::ssg::ssg::rule",
	}
	for i, a := range names {
		ua := MustParse(a)
		back, err := ParseKey(ua.Key())
		if err != nil || back != ua {
			t.Errorf("ParseKey(Key(%q)) = %v, %v", a, back, err)
		}
		for _, b := range names[i+1:] {
			ub := MustParse(b)
			sameGroup := ua.Provider() == ub.Provider() && ua.Type() == ub.Type()
			if sameGroup && bytes.Compare(ua.Key(), ub.Key()) != strings.Compare(ua.ID(), ub.ID()) {
				t.Errorf("key order of %q and %q differs from id order", a, b)
			}
		}
	}
	for _, k := range [][]byte{nil, {1, 1}, {0, 1, 'x'}, {1, 9, 'x'}, {1, 1, ' '}} {
		if _, err := ParseKey(k); !errors.Is(err, ErrKey) {
			t.Errorf("ParseKey(%v) error = %v, want ErrKey", k, err)
		}
	}
}

func TestJSON(t *testing.T) {
	type rec struct {
		URN URN `json:"urn"`
	}
	in := rec{URN: MustParse("v2e::mitre::attack::T1059.001")}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"urn":"v2e::mitre::attack::T1059.001"}` {
		t.Errorf("Marshal = %s", b)
	}
	var out rec
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("Unmarshal = %v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"urn":"v2e::x::cve::1"}`), &out); !errors.Is(err, ErrProvider) {
		t.Errorf("Unmarshal of a bad URN: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"urn":""}`), &out); err != nil || !out.URN.IsZero() {
		t.Errorf("Unmarshal of empty URN = %v, %v", out, err)
	}
}

func TestStringNames(t *testing.T) {
	for _, p := range []Provider{NVD, MITRE, SSG} {
		if q, err := ParseProvider(p.String()); err != nil || q != p {
			t.Errorf("ParseProvider(%q) = %v, %v", p, q, err)
		}
	}
	for _, ty := range []Type{CVE, CWE, CAPEC, ATTACK, SSGType} {
		if q, err := ParseType(ty.String()); err != nil || q != ty {
			t.Errorf("ParseType(%q) = %v, %v", ty, q, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"v2e::nvd::cve::CVE-2021-44228", "v2e::mitre::attack::T1059.001", "v2e::ssg::ssg::x",
		"v2e::nvd::cve::", "v2e::nvd::cve::a::b", "v2e::", "", "v2e::nvd::cve:::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			if !u.IsZero() {
				t.Fatalf("Parse(%q) returned %v with error %v", s, u, err)
			}
			return
		}
		if u.String() != s {
			t.Fatalf("String(Parse(%q)) = %q", s, u.String())
		}
		v, err := Parse(u.String())
		if err != nil || v != u {
			t.Fatalf("Parse(String(%q)) = %v, %v", s, v, err)
		}
		w, err := New(u.Provider(), u.Type(), u.ID())
		if err != nil || w != u {
			t.Fatalf("New(parts of %q) = %v, %v", s, w, err)
		}
		k, err := ParseKey(u.Key())
		if err != nil || k != u {
			t.Fatalf("ParseKey(Key(%q)) = %v, %v", s, k, err)
		}
	})
}
