package attackdb

import (
	"context"
	"fmt"
	"sort"

	"github.com/v2e/v2e/internal/attack"
)

// kindOf maps the relationships sheet's source/target types to kinds.
func kindOf(t string) attack.Kind { return attack.Kind(t) }

// Links returns the relationships, still present, of the object with that id
// in one domain ("" means enterprise first, as get-by-id does: the domain of
// the first object found with that id), seen from the object. Ordered by
// relationship type, kind, then id.
func (s *Store) Links(ctx context.Context, id, domain string) ([]attack.Link, error) {
	id, d, err := s.resolve(ctx, id, domain)
	if err != nil {
		return nil, err
	}
	return s.links(ctx, d, id)
}

// resolve normalizes the id and, when no domain is given, picks the domain
// of the preferred object with that id.
func (s *Store) resolve(ctx context.Context, id, domain string) (string, attack.Domain, error) {
	id, err := attack.NormalizeID(id)
	if err != nil {
		return "", "", err
	}
	d, err := attack.ParseDomain(domain)
	if err != nil || d != "" {
		return id, d, err
	}
	err = s.db.Reader().QueryRowContext(ctx, `SELECT domain FROM objects WHERE id = ?
		ORDER BY present DESC, `+domainRank+` LIMIT 1`, id).Scan(&d)
	if err != nil {
		return "", "", fmt.Errorf("%w: %s", attack.ErrNotFound, id)
	}
	return id, d, nil
}

func (s *Store) links(ctx context.Context, d attack.Domain, id string) ([]attack.Link, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `
		SELECT type, 'out', target_id, target_name, target_type, description FROM relationships
			WHERE domain = ? AND source_id = ? AND present = 1
		UNION ALL
		SELECT type, 'in', source_id, source_name, source_type, description FROM relationships
			WHERE domain = ? AND target_id = ? AND present = 1
		ORDER BY 1, 5, 3`, d, id, d, id)
	if err != nil {
		return nil, fmt.Errorf("attackdb: links of %s: %w", id, err)
	}
	defer rows.Close()
	out := []attack.Link{}
	for rows.Next() {
		l := attack.Link{Ref: attack.Ref{Domain: d}}
		var kind string
		if err := rows.Scan(&l.Relationship, &l.Direction, &l.ID, &l.Name, &kind, &l.Description); err != nil {
			return nil, fmt.Errorf("attackdb: links of %s: %w", id, err)
		}
		l.Kind = kindOf(kind)
		out = append(out, l)
	}
	return out, rows.Err()
}

// TechniquesOf returns the techniques a group, software, campaign or
// mitigation uses or mitigates (links of kind technique).
func (s *Store) TechniquesOf(ctx context.Context, id, domain string) ([]attack.Link, error) {
	links, err := s.Links(ctx, id, domain)
	if err != nil {
		return nil, err
	}
	out := []attack.Link{}
	for _, l := range links {
		if l.Kind == attack.KindTechnique {
			out = append(out, l)
		}
	}
	return out, nil
}

// TechniqueLinks returns a technique with its parent, sub-techniques,
// tactics, and the mitigations, groups, software, campaigns and ICS assets
// linked to it. Domain as in GetTechnique. It wraps attack.ErrNotFound.
func (s *Store) TechniqueLinks(ctx context.Context, id, domain string) (attack.TechniqueLinks, error) {
	t, err := s.GetTechnique(ctx, id, domain)
	if err != nil {
		return attack.TechniqueLinks{}, err
	}
	tl := attack.TechniqueLinks{Technique: t, Tactics: []attack.Ref{}, Mitigations: []attack.Link{},
		Groups: []attack.Link{}, Software: []attack.Link{}, Campaigns: []attack.Link{}, Assets: []attack.Link{}}
	if t.Parent != "" {
		if p, err := s.GetTechnique(ctx, t.Parent, string(t.Domain)); err == nil {
			tl.Parent = &attack.Ref{ID: p.ID, Name: p.Name, Kind: attack.KindTechnique, Domain: p.Domain}
		}
	}
	if tl.SubTechniques, err = s.subTechniques(ctx, t.Domain, t.ID); err != nil {
		return tl, err
	}
	for i, ta := range t.TacticIDs {
		tl.Tactics = append(tl.Tactics, attack.Ref{ID: ta, Name: t.Tactics[i], Kind: attack.KindTactic, Domain: t.Domain})
	}
	links, err := s.links(ctx, t.Domain, t.ID)
	if err != nil {
		return tl, err
	}
	byKind := map[attack.Kind]*[]attack.Link{
		attack.KindMitigation: &tl.Mitigations, attack.KindGroup: &tl.Groups, attack.KindSoftware: &tl.Software,
		attack.KindCampaign: &tl.Campaigns, attack.KindAsset: &tl.Assets,
	}
	for _, l := range links {
		if dst, ok := byKind[l.Kind]; ok {
			*dst = append(*dst, l)
		}
	}
	return tl, nil
}

func (s *Store) subTechniques(ctx context.Context, d attack.Domain, id string) ([]attack.Ref, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, name FROM objects
		WHERE domain = ? AND parent_id = ? AND kind = 'technique' AND present = 1 ORDER BY id`, d, id)
	if err != nil {
		return nil, fmt.Errorf("attackdb: sub-techniques of %s: %w", id, err)
	}
	defer rows.Close()
	out := []attack.Ref{}
	for rows.Next() {
		r := attack.Ref{Kind: attack.KindTechnique, Domain: d}
		if err := rows.Scan(&r.ID, &r.Name); err != nil {
			return nil, fmt.Errorf("attackdb: sub-techniques of %s: %w", id, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Matrix returns a domain's matrix ("" means enterprise): its present
// tactics in kill-chain order, each with its techniques by name and their
// sub-techniques nested.
func (s *Store) Matrix(ctx context.Context, domain string) ([]attack.MatrixColumn, error) {
	d, err := attack.ParseDomain(domain)
	if err != nil {
		return nil, err
	}
	if d == "" {
		d = attack.Enterprise
	}
	tactics, _, err := s.ListTactics(ctx, attack.ListOptions{Domain: string(d), Limit: attack.MaxLimit})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(tactics, func(i, j int) bool { return matrixLess(tactics[i], tactics[j]) })
	cols := make([]attack.MatrixColumn, len(tactics))
	index := map[string]int{}
	for i, t := range tactics {
		cols[i] = attack.MatrixColumn{Tactic: attack.Ref{ID: t.ID, Name: t.Name, Kind: attack.KindTactic, Domain: d},
			Techniques: []attack.MatrixTechnique{}}
		index[t.ID] = i
	}
	return cols, s.fillMatrix(ctx, d, cols, index)
}

func matrixLess(a, b attack.Tactic) bool {
	if (a.MatrixOrder == 0) != (b.MatrixOrder == 0) {
		return a.MatrixOrder != 0
	}
	if a.MatrixOrder != b.MatrixOrder {
		return a.MatrixOrder < b.MatrixOrder
	}
	return a.ID < b.ID
}

// fillMatrix places techniques (parents first, by name) then nests each
// sub-technique under its parent in the same column.
func (s *Store) fillMatrix(ctx context.Context, d attack.Domain, cols []attack.MatrixColumn, index map[string]int) error {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT tt.tactic_id, o.id, o.name, o.parent_id
		FROM technique_tactics tt JOIN objects o ON o.domain = tt.domain AND o.kind = 'technique' AND o.id = tt.technique_id
		WHERE tt.domain = ? AND o.present = 1 ORDER BY o.parent_id <> '', o.name, o.id`, d)
	if err != nil {
		return fmt.Errorf("attackdb: matrix %s: %w", d, err)
	}
	defer rows.Close()
	where := map[[2]string]int{} // (tactic, technique) → position in the column
	for rows.Next() {
		var tactic, parent string
		r := attack.Ref{Kind: attack.KindTechnique, Domain: d}
		if err := rows.Scan(&tactic, &r.ID, &r.Name, &parent); err != nil {
			return fmt.Errorf("attackdb: matrix %s: %w", d, err)
		}
		ci, ok := index[tactic]
		if !ok {
			continue
		}
		col := &cols[ci]
		if parent == "" {
			where[[2]string{tactic, r.ID}] = len(col.Techniques)
			col.Techniques = append(col.Techniques, attack.MatrixTechnique{Ref: r})
			continue
		}
		if pi, ok := where[[2]string{tactic, parent}]; ok {
			col.Techniques[pi].SubTechniques = append(col.Techniques[pi].SubTechniques, r)
		} else { // a sub-technique whose parent is not under this tactic
			col.Techniques = append(col.Techniques, attack.MatrixTechnique{Ref: r})
		}
	}
	return rows.Err()
}
