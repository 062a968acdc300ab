package attack

import (
	"context"
	"fmt"
	"strings"
)

// Page limits of the contract: limit defaults to 100 and is at most 1000.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ListOptions selects a page of one kind of object.
type ListOptions struct {
	Offset int
	Limit  int    // 0 means DefaultLimit; more than MaxLimit is cut to MaxLimit
	Domain string // "", "enterprise", "enterprise-attack", "mobile", "ics"…; "" lists every domain
	// IncludeRemoved lists objects that a later import no longer had.
	IncludeRemoved bool
	// Tactic keeps the techniques (and sub-techniques) of one tactic id
	// (TA0002); only ListTechniques honours it, the other lists refuse it.
	Tactic string
	// Q keeps the objects whose id is Q (a technique's also matches its
	// sub-techniques: T1059 → T1059.001) or whose name, description and
	// aliases hold every word of Q, case-insensitively, as word prefixes.
	// The store checks it: at most 200 characters, no control character.
	Q string
}

// Normalize applies the defaults and limits and parses the domain. A
// negative offset or limit, or an unknown domain, wraps ErrInvalidArgument.
func (o ListOptions) Normalize() (ListOptions, Domain, error) {
	if o.Offset < 0 {
		return o, "", fmt.Errorf("%w: offset %d is negative", ErrInvalidArgument, o.Offset)
	}
	if o.Limit < 0 {
		return o, "", fmt.Errorf("%w: limit %d is negative", ErrInvalidArgument, o.Limit)
	}
	if o.Limit == 0 {
		o.Limit = DefaultLimit
	}
	o.Limit = min(o.Limit, MaxLimit)
	if o.Tactic != "" {
		id, err := NormalizeID(o.Tactic)
		if err != nil || !strings.HasPrefix(id, "TA") {
			return o, "", fmt.Errorf("%w: tactic %q is not a tactic id like TA0002", ErrInvalidArgument, o.Tactic)
		}
		o.Tactic = id
	}
	d, err := ParseDomain(o.Domain)
	return o, d, err
}

// ImportResult is what one import did.
type ImportResult struct {
	// Count is the number of objects imported (every kind but relationships).
	Count   int            `json:"count"`
	Domains []DomainImport `json:"domains"`
}

// DomainImport describes the import of one domain: what the workbook held
// and what earlier imports had that it no longer has.
type DomainImport struct {
	Domain     Domain `json:"domain"`
	Version    string `json:"version"`
	Source     string `json:"source"`
	ImportDate string `json:"import_date"` // RFC 3339, UTC
	Counts     Counts `json:"counts"`
	Removed    Counts `json:"removed"`
}

// Metadata answers RPCGetAttackImportMetadata: totals over every domain
// (distinct ids still present) and the latest import of each domain.
type Metadata struct {
	ImportDate       string         `json:"import_date"` // RFC 3339 of the latest import; "" before any
	TotalTechniques  int            `json:"total_techniques"`
	TotalTactics     int            `json:"total_tactics"`
	TotalMitigations int            `json:"total_mitigations"`
	TotalSoftware    int            `json:"total_software"`
	TotalGroups      int            `json:"total_groups"`
	TotalCampaigns   int            `json:"total_campaigns"`
	TotalAssets      int            `json:"total_assets"`
	Domains          []DomainImport `json:"domains"`
}

// Service is what the local service offers about ATT&CK. sqlite/attackdb
// implements it; an RPC client can too. Ids are normalized with NormalizeID;
// domain "" means enterprise first, then mobile, then ICS. Errors wrap
// ErrNotFound or ErrInvalidArgument where those apply.
type Service interface {
	Import(ctx context.Context, cats ...*Catalog) (ImportResult, error)
	// ImportStream is Import fed while the catalogs load: load runs inside
	// the import and hands the catalogs to the Sink piece by piece (as
	// xlsx.LoadPathTo does); an error of load, returned as is, or of the
	// Sink stores nothing.
	ImportStream(ctx context.Context, load func(Sink) error) (ImportResult, error)
	Metadata(ctx context.Context) (Metadata, error)
	Counts(ctx context.Context, domain string) (Counts, error)

	GetTechnique(ctx context.Context, id, domain string) (Technique, error)
	GetTactic(ctx context.Context, id, domain string) (Tactic, error)
	GetMitigation(ctx context.Context, id, domain string) (Mitigation, error)
	GetSoftware(ctx context.Context, id, domain string) (Software, error)
	GetGroup(ctx context.Context, id, domain string) (Group, error)
	GetCampaign(ctx context.Context, id, domain string) (Campaign, error)
	GetAsset(ctx context.Context, id, domain string) (Asset, error)

	ListTechniques(ctx context.Context, o ListOptions) ([]Technique, int, error)
	ListTactics(ctx context.Context, o ListOptions) ([]Tactic, int, error)
	ListMitigations(ctx context.Context, o ListOptions) ([]Mitigation, int, error)
	ListSoftware(ctx context.Context, o ListOptions) ([]Software, int, error)
	ListGroups(ctx context.Context, o ListOptions) ([]Group, int, error)
	ListCampaigns(ctx context.Context, o ListOptions) ([]Campaign, int, error)
	ListAssets(ctx context.Context, o ListOptions) ([]Asset, int, error)

	Links(ctx context.Context, id, domain string) ([]Link, error)
	TechniquesOf(ctx context.Context, id, domain string) ([]Link, error)
	TechniqueLinks(ctx context.Context, id, domain string) (TechniqueLinks, error)
	Matrix(ctx context.Context, domain string) ([]MatrixColumn, error)
}

// Sink receives catalogs while they load. Catalog i (in the loader's order)
// gets Objects first, with everything but its relationships
// (Relationships is empty); then Relationships any number of times, with
// the next of them (the sink may keep the slice); then Done, with the whole
// catalog. The calls of different catalogs may interleave; they are made
// one at a time.
type Sink interface {
	Objects(i int, c *Catalog) error
	Relationships(i int, rels []Relationship) error
	Done(i int, c *Catalog) error
}
