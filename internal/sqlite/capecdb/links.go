package capecdb

import (
	"context"
	"fmt"

	"github.com/v2e/v2e/internal/capec"
)

// CAPECsForCWE returns the attack patterns ("CAPEC-<n>", ascending) whose
// Related_Weaknesses name the weakness ("CWE-79" or "79"). An unknown
// weakness has none.
func (s *Store) CAPECsForCWE(ctx context.Context, cweID string) ([]string, error) {
	n, err := capec.ParseCWEID(cweID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return s.strings(ctx, `SELECT 'CAPEC-' || capec_id FROM cwe_links WHERE cwe_id = ? ORDER BY capec_id`, n)
}

// CWEsForCAPEC returns the weaknesses ("CWE-<n>", ascending) the attack
// pattern ("CAPEC-66" or "66") names in Related_Weaknesses.
func (s *Store) CWEsForCAPEC(ctx context.Context, capecID string) ([]string, error) {
	n, err := capec.ParseID(capecID)
	if err != nil {
		return nil, err
	}
	return s.strings(ctx, `SELECT 'CWE-' || cwe_id FROM cwe_links WHERE capec_id = ? ORDER BY cwe_id`, n)
}

// AttackTechniquesForCAPEC returns the ATT&CK techniques ("T1574.010",
// sorted) the attack pattern maps to (Taxonomy_Mapping ATTACK).
func (s *Store) AttackTechniquesForCAPEC(ctx context.Context, capecID string) ([]string, error) {
	n, err := capec.ParseID(capecID)
	if err != nil {
		return nil, err
	}
	return s.strings(ctx, `SELECT technique_id FROM attack_links WHERE capec_id = ? ORDER BY technique_id`, n)
}

// CAPECsForAttackTechnique returns the attack patterns ("CAPEC-<n>",
// ascending) mapped to the technique ("T1574.010", "1574.010"). A technique
// without a sub-technique part ("T1574") also matches the patterns mapped to
// its sub-techniques.
func (s *Store) CAPECsForAttackTechnique(ctx context.Context, tid string) ([]string, error) {
	t, err := capec.TechniqueID(tid)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return s.strings(ctx, `SELECT DISTINCT 'CAPEC-' || capec_id FROM attack_links
		WHERE technique_id = ?1 OR (instr(?1, '.') = 0 AND technique_id LIKE ?1 || '.%') ORDER BY capec_id`, t)
}

func (s *Store) strings(ctx context.Context, q string, arg any) ([]string, error) {
	rows, err := s.db.Reader().QueryContext(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("capecdb: links: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("capecdb: links: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
