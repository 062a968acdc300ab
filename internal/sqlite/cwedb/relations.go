package cwedb

import (
	"context"
	"fmt"
	"strings"

	"github.com/v2e/v2e/internal/cwe"
)

// Relationship is one edge seen from the entry asked about. Inferred edges are
// the inverse of an edge the catalog states on the other entry (ParentOf from
// ChildOf, CanFollow from CanPrecede, RequiredBy from Requires, MemberOf from
// the HasMember of a category or view; PeerOf and CanAlsoBe are their own
// inverse).
type Relationship struct {
	CWEID       string `json:"cwe_id"`
	Nature      string `json:"nature"`
	RelatedID   string `json:"related_id"`
	RelatedName string `json:"related_name,omitempty"`
	ViewID      string `json:"view_id,omitempty"`
	Ordinal     string `json:"ordinal,omitempty"`
	ChainID     string `json:"chain_id,omitempty"`
	Inferred    bool   `json:"inferred"`
}

var inverse = map[string]string{
	"ChildOf": "ParentOf", "CanPrecede": "CanFollow", "Requires": "RequiredBy",
	"PeerOf": "PeerOf", "CanAlsoBe": "CanAlsoBe", "HasMember": "MemberOf",
	"ParentOf": "ChildOf", "CanFollow": "CanPrecede", "RequiredBy": "Requires",
}

// Relationships returns the edges of the weakness, category or view id, both
// those it states (a view's or category's HasMember included) and the
// inverses of those stated about it, optionally only
// those of one nature (matched without regard to case: "childof" = "ChildOf").
// Errors wrap cwe.ErrInvalidID, cwe.ErrNotFound or ErrBadRequest.
func (s *Store) Relationships(ctx context.Context, id, nature string) ([]Relationship, error) {
	want, err := canonicalNature(nature)
	if err != nil {
		return nil, err
	}
	n, err := cwe.ParseID(id)
	if err != nil {
		return nil, err
	}
	if err := s.exists(ctx, n); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, `
SELECT r.target_id, r.nature, r.view_id, r.ordinal, r.chain_id, 0 FROM relationships r WHERE r.source_id = ?1
UNION ALL
SELECT r.source_id, r.nature, r.view_id, r.ordinal, r.chain_id, 1 FROM relationships r WHERE r.target_id = ?1`, n)
	if err != nil {
		return nil, fmt.Errorf("cwedb: relationships of %s: %w", cwe.FormatID(n), err)
	}
	defer rows.Close()
	out := []Relationship{}
	for rows.Next() {
		var other int
		var view *int
		var inferred bool
		r := Relationship{CWEID: cwe.FormatID(n)}
		if err := rows.Scan(&other, &r.Nature, &view, &r.Ordinal, &r.ChainID, &inferred); err != nil {
			return nil, fmt.Errorf("cwedb: relationships of %s: %w", cwe.FormatID(n), err)
		}
		if inferred {
			inv, ok := inverse[r.Nature]
			if !ok {
				continue
			}
			r.Nature, r.Ordinal, r.Inferred = inv, "", true
		}
		if want != "" && r.Nature != want {
			continue
		}
		r.RelatedID = cwe.FormatID(other)
		if view != nil {
			r.ViewID = cwe.FormatID(*view)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.names(ctx, out)
}

func canonicalNature(nature string) (string, error) {
	if nature == "" {
		return "", nil
	}
	for _, k := range cwe.Natures {
		if strings.EqualFold(k, nature) {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: relationship_type %q is not one of %v", ErrBadRequest, nature, cwe.Natures)
}

// exists reports cwe.ErrNotFound unless n is a stored weakness, category or view.
func (s *Store) exists(ctx context.Context, n int) error {
	var found bool
	err := s.db.Reader().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM weaknesses WHERE id = ?1)
		OR EXISTS (SELECT 1 FROM categories WHERE id = ?1) OR EXISTS (SELECT 1 FROM views WHERE id = ?1)`, n).Scan(&found)
	if err != nil {
		return fmt.Errorf("cwedb: look up %s: %w", cwe.FormatID(n), err)
	}
	if !found {
		return fmt.Errorf("%w: %s", cwe.ErrNotFound, cwe.FormatID(n))
	}
	return nil
}

// names fills RelatedName from the stored entries.
func (s *Store) names(ctx context.Context, rs []Relationship) error {
	if len(rs) == 0 {
		return nil
	}
	st, err := s.db.Reader().PrepareContext(ctx, `SELECT COALESCE((SELECT name FROM weaknesses WHERE id = ?1),
		(SELECT name FROM categories WHERE id = ?1), (SELECT name FROM views WHERE id = ?1), '')`)
	if err != nil {
		return fmt.Errorf("cwedb: names: %w", err)
	}
	defer st.Close()
	for i := range rs {
		if err := st.QueryRowContext(ctx, num(rs[i].RelatedID)).Scan(&rs[i].RelatedName); err != nil {
			return fmt.Errorf("cwedb: names: %w", err)
		}
	}
	return nil
}

// CAPECsForCWE returns the attack patterns ("CAPEC-<n>", ascending) the CWE
// catalog links to the weakness. An unknown weakness has none.
func (s *Store) CAPECsForCWE(ctx context.Context, cweID string) ([]string, error) {
	n, err := cwe.ParseID(cweID)
	if err != nil {
		return nil, err
	}
	return s.ids(ctx, `SELECT capec_id FROM capec_links WHERE cwe_id = ? ORDER BY capec_id`, n, "CAPEC-")
}

// CWEsForCAPEC returns the weaknesses ("CWE-<n>", ascending) the CWE catalog
// links to the attack pattern ("CAPEC-66" or "66").
func (s *Store) CWEsForCAPEC(ctx context.Context, capecID string) ([]string, error) {
	n, err := cwe.ParseCAPECID(capecID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return s.ids(ctx, `SELECT cwe_id FROM capec_links WHERE capec_id = ? ORDER BY cwe_id`, n, "CWE-")
}

func (s *Store) ids(ctx context.Context, q string, n int, prefix string) ([]string, error) {
	rows, err := s.db.Reader().QueryContext(ctx, q, n)
	if err != nil {
		return nil, fmt.Errorf("cwedb: links: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("cwedb: links: %w", err)
		}
		out = append(out, fmt.Sprintf("%s%d", prefix, id))
	}
	return out, rows.Err()
}
