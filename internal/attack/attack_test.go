package attack

import (
	"errors"
	"testing"
)

func TestParseDomain(t *testing.T) {
	tests := []struct {
		in      string
		want    Domain
		wantErr bool
	}{
		{"", "", false}, {"enterprise", Enterprise, false}, {"Enterprise-Attack", Enterprise, false},
		{" mobile ", Mobile, false}, {"ics-attack", ICS, false}, {"ICS", ICS, false},
		{"pre", "", true}, {"-attack", "", true}, {"enterprise-attack-attack", "", true},
	}
	for _, tt := range tests {
		got, err := ParseDomain(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalidArgument)) {
			t.Errorf("ParseDomain(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNormalizeID(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"T1059", "T1059", false}, {" t1059.001 ", "T1059.001", false}, {"1059.001", "T1059.001", false},
		{"ta0002", "TA0002", false}, {"G0007", "G0007", false}, {"", "", true}, {"  ", "", true},
		{"T1059;drop", "", true}, {"T 1059", "", true},
	}
	for _, tt := range tests {
		got, err := NormalizeID(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalidArgument)) {
			t.Errorf("NormalizeID(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestListOptionsNormalize(t *testing.T) {
	tests := []struct {
		in         ListOptions
		wantLimit  int
		wantDomain Domain
		wantErr    bool
	}{
		{ListOptions{}, DefaultLimit, "", false},
		{ListOptions{Limit: 5000, Domain: "ics"}, MaxLimit, ICS, false},
		{ListOptions{Limit: 7, Offset: 3}, 7, "", false},
		{ListOptions{Offset: -1}, 0, "", true},
		{ListOptions{Limit: -1}, 0, "", true},
		{ListOptions{Domain: "pre"}, 0, "", true},
		{ListOptions{Tactic: "ta0002"}, DefaultLimit, "", false},
		{ListOptions{Tactic: "T1059"}, 0, "", true},
	}
	for _, tt := range tests {
		got, d, err := tt.in.Normalize()
		if (err != nil) != tt.wantErr {
			t.Errorf("%+v: err = %v", tt.in, err)
			continue
		}
		if err == nil && (got.Limit != tt.wantLimit || d != tt.wantDomain || got.Offset != tt.in.Offset) {
			t.Errorf("%+v → %+v, %q; want limit %d domain %q", tt.in, got, d, tt.wantLimit, tt.wantDomain)
		}
	}
}

func TestCatalogCounts(t *testing.T) {
	c := Catalog{
		Techniques: []Technique{{IsSubtechnique: false}, {IsSubtechnique: true}, {IsSubtechnique: true}},
		Tactics:    make([]Tactic, 2), Assets: make([]Asset, 1), Relationships: make([]Relationship, 4),
	}
	want := Counts{Techniques: 3, Subtechniques: 2, Tactics: 2, Assets: 1, Relationships: 4}
	if got := c.Counts(); got != want || got.Objects() != 6 {
		t.Errorf("Counts = %+v (objects %d), want %+v (6)", got, got.Objects(), want)
	}
}
