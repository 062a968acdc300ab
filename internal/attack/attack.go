// Package attack holds the domain types of MITRE ATT&CK as v2e stores and
// serves them: techniques and sub-techniques, tactics, mitigations, software,
// groups, campaigns, ICS assets and the relationships between them, for the
// enterprise, mobile and ICS domains side by side.
//
// The package imports only the standard library. The workbook loader lives in
// attack/xlsx and the SQLite store in sqlite/attackdb; both speak these types.
//
// An object is identified by its domain and its ATT&CK id: the same group
// (G0007) or software (S0154) appears in several domains, each with its own
// relationships. Objects that a newer import no longer contains are kept with
// Present false and RemovedIn set to the version that dropped them.
package attack

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers test with errors.Is.
var (
	// ErrNotFound is wrapped when no object has the asked id (in the asked domain).
	ErrNotFound = errors.New("attack: not found")
	// ErrInvalidArgument is wrapped when an id, domain or page is malformed.
	ErrInvalidArgument = errors.New("attack: invalid argument")
	// ErrWorkbook is wrapped by every error about the content of a workbook:
	// a missing sheet or header, a bad row, a file that is not a workbook.
	ErrWorkbook = errors.New("attack: bad workbook")
)

// Domain is an ATT&CK domain, spelled as MITRE does in the "domain" column.
type Domain string

// The three ATT&CK domains.
const (
	Enterprise Domain = "enterprise-attack"
	Mobile     Domain = "mobile-attack"
	ICS        Domain = "ics-attack"
)

// Domains lists the domains in the order get-by-id prefers them.
var Domains = []Domain{Enterprise, Mobile, ICS}

// ParseDomain accepts "enterprise-attack" or "enterprise" (likewise mobile
// and ics), in any case. The empty string gives "" and no error: no domain
// asked.
func ParseDomain(s string) (Domain, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	s = strings.TrimSuffix(s, "-attack")
	for _, d := range Domains {
		if string(d) == s+"-attack" {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: domain %q is not enterprise, mobile or ics", ErrInvalidArgument, s)
}

// Short returns "enterprise", "mobile" or "ics".
func (d Domain) Short() string { return strings.TrimSuffix(string(d), "-attack") }

// Kind names the type of an object, as in the relationships sheet's
// "source type" and "target type" columns.
type Kind string

// Kinds of ATT&CK objects.
const (
	KindTechnique  Kind = "technique"
	KindTactic     Kind = "tactic"
	KindMitigation Kind = "mitigation"
	KindSoftware   Kind = "software"
	KindGroup      Kind = "group"
	KindCampaign   Kind = "campaign"
	KindAsset      Kind = "asset"
)

// NormalizeID upper-cases and trims an ATT&CK id. A bare technique number as
// CAPEC's taxonomy mappings write it ("1059.001") gets its "T" back.
func NormalizeID(id string) (string, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if id == "" {
		return "", fmt.Errorf("%w: id is empty", ErrInvalidArgument)
	}
	if id[0] >= '0' && id[0] <= '9' {
		id = "T" + id
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.') {
			return "", fmt.Errorf("%w: id %q has a character other than a letter, digit or dot", ErrInvalidArgument, id)
		}
	}
	return id, nil
}

// Object holds the columns every object sheet shares. Dates are ISO 8601
// (YYYY-MM-DD). Present, AddedIn and RemovedIn are set by the store.
type Object struct {
	ID          string   `json:"id"`
	STIXID      string   `json:"stix_id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	URL         string   `json:"url"`
	Created     string   `json:"created"`
	Modified    string   `json:"last_modified"`
	Domain      Domain   `json:"domain"`
	Domains     []Domain `json:"domains,omitempty"`
	Version     string   `json:"version"`
	Deprecated  bool     `json:"deprecated"`
	Revoked     bool     `json:"revoked"`
	Present     bool     `json:"present"`
	AddedIn     string   `json:"added_in,omitempty"`
	RemovedIn   string   `json:"removed_in,omitempty"`
}

// Base returns the shared columns; every object type has it by embedding,
// so that code generic over the object types can reach them.
func (o *Object) Base() *Object { return o }

// Technique is a technique or a sub-technique.
type Technique struct {
	Object
	Tactics        []string `json:"tactics"`    // tactic names, as the sheet lists them
	TacticIDs      []string `json:"tactic_ids"` // the same tactics by id (TA0002)
	Platforms      []string `json:"platforms"`
	Detection      string   `json:"detection,omitempty"`
	IsSubtechnique bool     `json:"is_subtechnique"`
	Parent         string   `json:"parent,omitempty"` // parent technique id of a sub-technique
	SupportsRemote string   `json:"supports_remote,omitempty"`
	ImpactType     string   `json:"impact_type,omitempty"`
	TacticType     string   `json:"tactic_type,omitempty"` // mobile only
	Contributors   []string `json:"contributors,omitempty"`
}

// Tactic is a column of the matrix. MatrixOrder is its 1-based position in
// the domain's matrix (0 when the workbook has no matrix sheet).
type Tactic struct {
	Object
	MatrixOrder int `json:"matrix_order"`
}

// Mitigation is a course of action.
type Mitigation struct {
	Object
}

// Software is a piece of malware or a tool.
type Software struct {
	Object
	Type         string   `json:"type"` // "malware" or "tool"
	Platforms    []string `json:"platforms"`
	Aliases      []string `json:"aliases"`
	Contributors []string `json:"contributors,omitempty"`
}

// Group is an intrusion set.
type Group struct {
	Object
	Aliases      []string `json:"aliases"` // the "associated groups" column
	Contributors []string `json:"contributors,omitempty"`
}

// Campaign is a set of intrusion activity over a period.
type Campaign struct {
	Object
	Aliases   []string `json:"aliases"` // the "associated campaigns" column
	FirstSeen string   `json:"first_seen,omitempty"`
	LastSeen  string   `json:"last_seen,omitempty"`
}

// Asset is an ICS asset (the ICS workbook's "assets" sheet).
type Asset struct {
	Object
	Platforms     []string `json:"platforms"`
	Sectors       []string `json:"sectors"`
	RelatedAssets []string `json:"related_assets"`
}

// Relationship is a row of the relationships sheet: source "uses",
// "mitigates", "detects", "targets", "attributed-to" … target. Source and
// target ids may be empty (v14 data components have none); refs never are.
type Relationship struct {
	STIXID      string `json:"stix_id"`
	Domain      Domain `json:"domain"`
	Type        string `json:"type"`
	SourceID    string `json:"source_id"`
	SourceName  string `json:"source_name"`
	SourceRef   string `json:"source_ref"`
	SourceType  string `json:"source_type"`
	TargetID    string `json:"target_id"`
	TargetName  string `json:"target_name"`
	TargetRef   string `json:"target_ref"`
	TargetType  string `json:"target_type"`
	Description string `json:"description,omitempty"`
	Created     string `json:"created,omitempty"`
	Modified    string `json:"last_modified,omitempty"`
}

// Catalog is one workbook: one domain at one version.
type Catalog struct {
	Domain        Domain
	Version       string // "18.1", from the file name; "" when it has none
	Source        string // the file name it was loaded from
	Techniques    []Technique
	Tactics       []Tactic
	Mitigations   []Mitigation
	Software      []Software
	Groups        []Group
	Campaigns     []Campaign
	Assets        []Asset
	Relationships []Relationship
}

// Counts is the number of objects of each kind in a catalog or a store.
type Counts struct {
	Techniques    int `json:"techniques"`
	Subtechniques int `json:"subtechniques"` // included in Techniques
	Tactics       int `json:"tactics"`
	Mitigations   int `json:"mitigations"`
	Software      int `json:"software"`
	Groups        int `json:"groups"`
	Campaigns     int `json:"campaigns"`
	Assets        int `json:"assets"`
	Relationships int `json:"relationships"`
}

// Objects is the number of objects of every kind but relationships.
func (c Counts) Objects() int {
	return c.Techniques + c.Tactics + c.Mitigations + c.Software + c.Groups + c.Campaigns + c.Assets
}

// Counts counts the catalog's rows.
func (c *Catalog) Counts() Counts {
	n := Counts{
		Techniques: len(c.Techniques), Tactics: len(c.Tactics), Mitigations: len(c.Mitigations),
		Software: len(c.Software), Groups: len(c.Groups), Campaigns: len(c.Campaigns),
		Assets: len(c.Assets), Relationships: len(c.Relationships),
	}
	for i := range c.Techniques {
		if c.Techniques[i].IsSubtechnique {
			n.Subtechniques++
		}
	}
	return n
}

// Ref names an object briefly, for links and the matrix.
type Ref struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Domain Domain `json:"domain"`
}

// Link is a relationship seen from one object: the other end, the
// relationship type and its description.
type Link struct {
	Ref
	Relationship string `json:"relationship"`          // "uses", "mitigates", …
	Direction    string `json:"direction"`             // "out" (this object is the source) or "in"
	Description  string `json:"description,omitempty"` // the mapping description
}

// TechniqueLinks is everything a technique connects to: the chain
// CVE → CWE → CAPEC → ATT&CK ends here.
type TechniqueLinks struct {
	Technique     Technique `json:"technique"`
	Parent        *Ref      `json:"parent,omitempty"`
	SubTechniques []Ref     `json:"subtechniques"`
	Tactics       []Ref     `json:"tactics"`
	Mitigations   []Link    `json:"mitigations"`
	Groups        []Link    `json:"groups"`
	Software      []Link    `json:"software"`
	Campaigns     []Link    `json:"campaigns"`
	Assets        []Link    `json:"assets"`
}

// MatrixColumn is one tactic of a domain's matrix with its techniques
// (sub-techniques nested under their parent), ordered by name.
type MatrixColumn struct {
	Tactic     Ref               `json:"tactic"`
	Techniques []MatrixTechnique `json:"techniques"`
}

// MatrixTechnique is a technique in a matrix column.
type MatrixTechnique struct {
	Ref
	SubTechniques []Ref `json:"subtechniques,omitempty"`
}
