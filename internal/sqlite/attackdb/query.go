package attackdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/v2e/v2e/internal/attack"
	"github.com/v2e/v2e/internal/sqlite"
)

// GetTechnique returns the technique or sub-technique with that id. With no
// domain it prefers enterprise, then mobile, then ICS, and an object still
// present over one a later import removed. It wraps attack.ErrNotFound.
func (s *Store) GetTechnique(ctx context.Context, id, domain string) (attack.Technique, error) {
	return get[attack.Technique](ctx, s, attack.KindTechnique, id, domain)
}

// GetTactic is GetTechnique for tactics.
func (s *Store) GetTactic(ctx context.Context, id, domain string) (attack.Tactic, error) {
	return get[attack.Tactic](ctx, s, attack.KindTactic, id, domain)
}

// GetMitigation is GetTechnique for mitigations.
func (s *Store) GetMitigation(ctx context.Context, id, domain string) (attack.Mitigation, error) {
	return get[attack.Mitigation](ctx, s, attack.KindMitigation, id, domain)
}

// GetSoftware is GetTechnique for software.
func (s *Store) GetSoftware(ctx context.Context, id, domain string) (attack.Software, error) {
	return get[attack.Software](ctx, s, attack.KindSoftware, id, domain)
}

// GetGroup is GetTechnique for groups.
func (s *Store) GetGroup(ctx context.Context, id, domain string) (attack.Group, error) {
	return get[attack.Group](ctx, s, attack.KindGroup, id, domain)
}

// GetCampaign is GetTechnique for campaigns.
func (s *Store) GetCampaign(ctx context.Context, id, domain string) (attack.Campaign, error) {
	return get[attack.Campaign](ctx, s, attack.KindCampaign, id, domain)
}

// GetAsset is GetTechnique for ICS assets.
func (s *Store) GetAsset(ctx context.Context, id, domain string) (attack.Asset, error) {
	return get[attack.Asset](ctx, s, attack.KindAsset, id, domain)
}

// ListTechniques returns a page of techniques (sub-techniques included),
// ordered by domain (enterprise, mobile, ICS) then id, and the total.
func (s *Store) ListTechniques(ctx context.Context, o attack.ListOptions) ([]attack.Technique, int, error) {
	return list[attack.Technique](ctx, s, attack.KindTechnique, o)
}

// ListTactics is ListTechniques for tactics.
func (s *Store) ListTactics(ctx context.Context, o attack.ListOptions) ([]attack.Tactic, int, error) {
	return list[attack.Tactic](ctx, s, attack.KindTactic, o)
}

// ListMitigations is ListTechniques for mitigations.
func (s *Store) ListMitigations(ctx context.Context, o attack.ListOptions) ([]attack.Mitigation, int, error) {
	return list[attack.Mitigation](ctx, s, attack.KindMitigation, o)
}

// ListSoftware is ListTechniques for software.
func (s *Store) ListSoftware(ctx context.Context, o attack.ListOptions) ([]attack.Software, int, error) {
	return list[attack.Software](ctx, s, attack.KindSoftware, o)
}

// ListGroups is ListTechniques for groups.
func (s *Store) ListGroups(ctx context.Context, o attack.ListOptions) ([]attack.Group, int, error) {
	return list[attack.Group](ctx, s, attack.KindGroup, o)
}

// ListCampaigns is ListTechniques for campaigns.
func (s *Store) ListCampaigns(ctx context.Context, o attack.ListOptions) ([]attack.Campaign, int, error) {
	return list[attack.Campaign](ctx, s, attack.KindCampaign, o)
}

// ListAssets is ListTechniques for ICS assets.
func (s *Store) ListAssets(ctx context.Context, o attack.ListOptions) ([]attack.Asset, int, error) {
	return list[attack.Asset](ctx, s, attack.KindAsset, o)
}

const objectColumns = `domain, data, present, added_in, removed_in`

func get[T any, P objectPtr[T]](ctx context.Context, s *Store, kind attack.Kind, id, domain string) (T, error) {
	var zero T
	id, err := attack.NormalizeID(id)
	if err != nil {
		return zero, err
	}
	d, err := attack.ParseDomain(domain)
	if err != nil {
		return zero, err
	}
	q := `SELECT ` + objectColumns + ` FROM objects WHERE kind = ? AND id = ? AND (? = '' OR domain = ?)
		ORDER BY present DESC, ` + domainRank + ` LIMIT 1`
	rows, err := s.db.Reader().QueryContext(ctx, q, kind, id, d, d)
	if err != nil {
		return zero, fmt.Errorf("attackdb: get %s %s: %w", kind, id, err)
	}
	objs, err := scan[T, P](rows)
	if err != nil {
		return zero, fmt.Errorf("attackdb: get %s %s: %w", kind, id, err)
	}
	if len(objs) == 0 {
		if d != "" {
			return zero, fmt.Errorf("%w: %s %s in domain %s", attack.ErrNotFound, kind, id, d)
		}
		return zero, fmt.Errorf("%w: %s %s", attack.ErrNotFound, kind, id)
	}
	return objs[0], nil
}

func list[T any, P objectPtr[T]](ctx context.Context, s *Store, kind attack.Kind, o attack.ListOptions) ([]T, int, error) {
	o, d, err := o.Normalize()
	if err != nil {
		return nil, 0, err
	}
	if err := sqlite.CheckQuery(o.Q); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", attack.ErrInvalidArgument, err)
	}
	l := sqlite.ListSQL{Columns: objectColumns, From: `objects`, Order: domainRank + `, id`,
		Where: `kind = ? AND (? = '' OR domain = ?) AND (? OR present = 1)`, Args: []any{kind, d, d, o.IncludeRemoved}}
	if o.Tactic != "" {
		if kind != attack.KindTechnique {
			return nil, 0, fmt.Errorf("%w: a tactic filter applies to techniques, not to %s", attack.ErrInvalidArgument, kind)
		}
		l.Where += ` AND id IN (SELECT technique_id FROM technique_tactics tt WHERE tt.domain = objects.domain AND tt.tactic_id = ?)`
		l.Args = append(l.Args, o.Tactic)
	}
	if match := sqlite.Match(o.Q); match != "" {
		// The id, and for a technique its sub-techniques (T1059 → T1059.001),
		// or every word in the text.
		id := queryID(o.Q)
		l.Where += ` AND (id = ? OR (kind = 'technique' AND id > ? AND id < ?) OR
			rid IN (SELECT rowid FROM objects_fts WHERE objects_fts MATCH ?))`
		l.Args = append(l.Args, id, id+".", id+"/", match)
	}
	objs, total, err := sqlite.List(ctx, s.db, sqlite.ListQuery{Offset: o.Offset, Limit: o.Limit}, l, decode[T, P])
	if err != nil {
		return nil, 0, fmt.Errorf("attackdb: %s: %w", kind, err)
	}
	return objs, total, nil
}

// queryID is q as an ATT&CK id ("t1059" → "T1059", "1059.001" →
// "T1059.001"), or "\x00" (no object's id) when q is not one.
func queryID(q string) string {
	id, err := attack.NormalizeID(q)
	if err != nil || !strings.ContainsAny(id, "0123456789") {
		return "\x00"
	}
	return id
}

// scan decodes rows of objectColumns and closes them. It never returns nil
// without an error, so that JSON shows [] for an empty page.
func scan[T any, P objectPtr[T]](rows *sql.Rows) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := decode[T, P](rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// decode reads one row of objectColumns.
func decode[T any, P objectPtr[T]](rows *sql.Rows) (T, error) {
	var (
		v                      T
		domain, added, removed string
		data                   []byte
		present                bool
	)
	if err := rows.Scan(&domain, &data, &present, &added, &removed); err != nil {
		return v, err
	}
	if err := json.Unmarshal(data, P(&v)); err != nil {
		return v, fmt.Errorf("decode stored object: %w", err)
	}
	b := P(&v).Base()
	b.Domain, b.Present, b.AddedIn, b.RemovedIn = attack.Domain(domain), present, added, removed
	return v, nil
}

// Metadata returns the import metadata.
func (s *Store) Metadata(ctx context.Context) (attack.Metadata, error) {
	m := attack.Metadata{Domains: []attack.DomainImport{}}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT kind, count(DISTINCT id) FROM objects WHERE present = 1 GROUP BY kind`)
	if err != nil {
		return m, fmt.Errorf("attackdb: metadata: %w", err)
	}
	totals := map[attack.Kind]*int{
		attack.KindTechnique: &m.TotalTechniques, attack.KindTactic: &m.TotalTactics,
		attack.KindMitigation: &m.TotalMitigations, attack.KindSoftware: &m.TotalSoftware,
		attack.KindGroup: &m.TotalGroups, attack.KindCampaign: &m.TotalCampaigns, attack.KindAsset: &m.TotalAssets,
	}
	for rows.Next() {
		var k attack.Kind
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			return m, fmt.Errorf("attackdb: metadata: %w", err)
		}
		if p, ok := totals[k]; ok {
			*p = n
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return m, fmt.Errorf("attackdb: metadata: %w", err)
	}
	if m.Domains, err = s.latestImports(ctx); err != nil {
		return m, err
	}
	for _, d := range m.Domains {
		m.ImportDate = max(m.ImportDate, d.ImportDate)
	}
	return m, nil
}

func (s *Store) latestImports(ctx context.Context) ([]attack.DomainImport, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT domain, version, source, imported_at, counts, removed
		FROM imports WHERE gen IN (SELECT max(gen) FROM imports GROUP BY domain) ORDER BY `+domainRank)
	if err != nil {
		return nil, fmt.Errorf("attackdb: metadata: %w", err)
	}
	defer rows.Close()
	out := []attack.DomainImport{}
	for rows.Next() {
		var d attack.DomainImport
		var counts, removed []byte
		if err := rows.Scan(&d.Domain, &d.Version, &d.Source, &d.ImportDate, &counts, &removed); err != nil {
			return nil, fmt.Errorf("attackdb: metadata: %w", err)
		}
		if err := errors.Join(json.Unmarshal(counts, &d.Counts), json.Unmarshal(removed, &d.Removed)); err != nil {
			return nil, fmt.Errorf("attackdb: metadata of %s: %w", d.Domain, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Counts counts the objects and relationships of a domain that are still
// present ("" counts every domain, an object once per domain).
func (s *Store) Counts(ctx context.Context, domain string) (attack.Counts, error) {
	var n attack.Counts
	d, err := attack.ParseDomain(domain)
	if err != nil {
		return n, err
	}
	err = s.db.Reader().QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE kind = 'technique'),
		count(*) FILTER (WHERE kind = 'technique' AND parent_id <> ''),
		count(*) FILTER (WHERE kind = 'tactic'),
		count(*) FILTER (WHERE kind = 'mitigation'),
		count(*) FILTER (WHERE kind = 'software'),
		count(*) FILTER (WHERE kind = 'group'),
		count(*) FILTER (WHERE kind = 'campaign'),
		count(*) FILTER (WHERE kind = 'asset'),
		(SELECT count(*) FROM relationships WHERE present = 1 AND (?1 = '' OR domain = ?1))
		FROM objects WHERE present = 1 AND (?1 = '' OR domain = ?1)`, d).Scan(
		&n.Techniques, &n.Subtechniques, &n.Tactics, &n.Mitigations, &n.Software, &n.Groups,
		&n.Campaigns, &n.Assets, &n.Relationships)
	if err != nil {
		return n, fmt.Errorf("attackdb: counts: %w", err)
	}
	return n, nil
}
