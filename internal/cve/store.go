package cve

import (
	"context"
	"encoding/json"
)

// Limits of one call.
const (
	DefaultLimit = 100  // page size when a list or search gives none
	MaxLimit     = 1000 // largest page
	MaxBatch     = 5000 // most records in one Save (an NVD API page holds at most 2000)
)

// Outcome is what saving one record did.
type Outcome string

// Outcomes of saving a record.
const (
	Saved     Outcome = "saved"     // the id was not stored; now it is
	Updated   Outcome = "updated"   // the stored record was replaced by one at least as new
	Unchanged Outcome = "unchanged" // the same record (same lastModified and content) was already stored
	Stale     Outcome = "stale"     // a newer record was stored; the older one given was not applied
)

// SaveResult counts the outcomes of a batch. Saved+Updated+Unchanged is the
// batch size; Stale counts the records among Unchanged that were older than
// the stored ones and were therefore not applied.
type SaveResult struct {
	Saved     int `json:"saved"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Stale     int `json:"stale"`
}

// Add counts one outcome.
func (r *SaveResult) Add(o Outcome) {
	switch o {
	case Saved:
		r.Saved++
	case Updated:
		r.Updated++
	case Stale:
		r.Unchanged++
		r.Stale++
	default:
		r.Unchanged++
	}
}

// Page is one page of List: whole NVD cve objects in id order.
type Page struct {
	CVEs   []json.RawMessage `json:"cves"`
	Total  int               `json:"total"`
	Offset int               `json:"offset"`
	Limit  int               `json:"limit"`
}

// Summary is one search hit.
type Summary struct {
	ID           string   `json:"id"`
	Published    string   `json:"published"`
	LastModified string   `json:"last_modified"`
	Status       string   `json:"status"`
	Description  string   `json:"description"`
	CVSSScore    *float64 `json:"cvss_score"`    // best score (newest CVSS version), null when none
	CVSSSeverity string   `json:"cvss_severity"` // "" when none
	CVSSVersion  string   `json:"cvss_version"`  // "4.0", "3.1", "3.0", "2.0" or ""
	CWEIDs       []string `json:"cwe_ids"`
	KEV          bool     `json:"kev"`
}

// SearchResult is one page of Search. NextCursor is "" on the last page;
// Total counts every match, not only this page.
type SearchResult struct {
	CVEs       []Summary `json:"cves"`
	NextCursor string    `json:"next_cursor"`
	Total      int       `json:"total"`
}

// Store keeps NVD cve objects. Implementations are safe for concurrent use.
// Errors about bad input wrap ErrInvalid; about an id not stored, ErrNotFound.
type Store interface {
	// Save stores a batch in one transaction: all records or, if any is
	// invalid or the batch has more than MaxBatch, none (the error names the
	// record by index and id). A record replaces a stored one with the same
	// id only if its lastModified is not older.
	Save(ctx context.Context, records []json.RawMessage) (SaveResult, error)
	// SaveOne is Save for a single record; it returns the canonical id.
	SaveOne(ctx context.Context, record json.RawMessage) (string, Outcome, error)
	// Get returns the stored cve object, field for field as saved.
	Get(ctx context.Context, id string) (json.RawMessage, error)
	IsStored(ctx context.Context, id string) (bool, error)
	// Delete removes a record; ErrNotFound if it was not stored.
	Delete(ctx context.Context, id string) error
	List(ctx context.Context, offset, limit int) (Page, error)
	Count(ctx context.Context) (int, error)
	Search(ctx context.Context, q SearchQuery) (SearchResult, error)
	// CWEs returns the weakness ids of a stored CVE ("CWE-79", and NVD's
	// "NVD-CWE-Other"/"NVD-CWE-noinfo" as given), in record order.
	CWEs(ctx context.Context, id string) ([]string, error)
}
