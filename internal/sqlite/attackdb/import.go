package attackdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/v2e/v2e/internal/attack"
)

// Import stores the catalogs in one transaction: either all of them are
// stored or, on error, none is and the previous data stays as it was.
// Two catalogs of the same domain in one call are refused.
func (s *Store) Import(ctx context.Context, cats ...*attack.Catalog) (attack.ImportResult, error) {
	var res attack.ImportResult
	seen := map[attack.Domain]bool{}
	for _, c := range cats {
		if _, err := attack.ParseDomain(string(c.Domain)); err != nil || c.Domain == "" {
			return res, fmt.Errorf("%w: catalog %s has domain %q", attack.ErrInvalidArgument, c.Source, c.Domain)
		}
		if seen[c.Domain] {
			return res, fmt.Errorf("%w: two catalogs of domain %s in one import (%s)", attack.ErrInvalidArgument, c.Domain, c.Source)
		}
		seen[c.Domain] = true
	}
	now := s.Now().UTC().Format(time.RFC3339)
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		res = attack.ImportResult{}
		// A whole import writes ~20 MB of pages (~5,000). A page cache that
		// holds them all (128 MB was tried) costs more than the spills it
		// saves: each cached page is a fresh 8 KiB allocation of SQLite's
		// allocator (two page faults) and closing the connection hands them
		// back with an madvise per 64 KiB, system calls that are dear on a
		// VM. 4 MiB (1,024 pages) keeps the indexes' pages while the table
		// rows, written in order, spill to the WAL once. Each INSERT may keep
		// a statement journal, a temporary file unless temp_store is memory.
		// Both settings stay on the writer connection.
		for _, pragma := range []string{`PRAGMA cache_size = -4096`, `PRAGMA temp_store = MEMORY`} {
			if _, err := tx.ExecContext(ctx, pragma); err != nil {
				return fmt.Errorf("attackdb: import: %s: %w", pragma, err)
			}
		}
		for _, c := range cats {
			d, err := importCatalog(ctx, tx, c, now)
			if err != nil {
				return fmt.Errorf("attackdb: import %s: %w", c.Source, err)
			}
			res.Count += d.Counts.Objects()
			res.Domains = append(res.Domains, d)
		}
		return nil
	})
	if err != nil {
		return attack.ImportResult{}, err
	}
	return res, nil
}

func importCatalog(ctx context.Context, tx *sql.Tx, c *attack.Catalog, now string) (attack.DomainImport, error) {
	d := attack.DomainImport{Domain: c.Domain, Version: c.Version, Source: c.Source, ImportDate: now, Counts: c.Counts()}
	counts, _ := json.Marshal(d.Counts)
	r, err := tx.ExecContext(ctx, `INSERT INTO imports(domain, version, source, imported_at, counts, removed)
		VALUES (?, ?, ?, ?, ?, '{}')`, c.Domain, c.Version, c.Source, now, counts)
	if err != nil {
		return d, err
	}
	gen, err := r.LastInsertId()
	if err != nil {
		return d, err
	}
	w := &writer{ctx: ctx, tx: tx, domain: c.Domain, version: c.Version, gen: gen}
	if err := w.had(); err != nil {
		return d, err
	}
	if err := w.objects(c); err != nil {
		return d, err
	}
	if err := w.tactics(c.Techniques); err != nil {
		return d, err
	}
	if err := w.relationships(c.Relationships); err != nil {
		return d, err
	}
	if d.Removed, err = w.markRemoved(); err != nil {
		return d, err
	}
	removed, _ := json.Marshal(d.Removed)
	_, err = tx.ExecContext(ctx, `UPDATE imports SET removed = ? WHERE gen = ?`, removed, gen)
	return d, err
}

// writer upserts one catalog's rows under one import generation.
type writer struct {
	ctx     context.Context
	tx      *sql.Tx
	domain  attack.Domain
	version string
	gen     int64
	batch   *batch
	// hadObjects and hadRelationships tell whether the domain had rows
	// before this import. When it had none there is nothing to update or
	// mark removed: relationships are then plain INSERTs (an upsert's
	// DO UPDATE may abort, so SQLite keeps a statement journal of every
	// page each multi-row statement changes), and markRemoved skips its
	// scans.
	hadObjects, hadRelationships bool
}

func (w *writer) had() error {
	for _, q := range []struct {
		dst   *bool
		table string
	}{{&w.hadObjects, "objects"}, {&w.hadRelationships, "relationships"}} {
		err := w.tx.QueryRowContext(w.ctx, `SELECT EXISTS (SELECT 1 FROM `+q.table+` WHERE domain = ?)`, w.domain).Scan(q.dst)
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) objects(c *attack.Catalog) error {
	w.batch = newBatch(w.ctx, w.tx, `INSERT INTO objects
		(domain, kind, id, name, parent_id, data, present, added_in, removed_in, gen)`,
		`ON CONFLICT (domain, kind, id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
			data = excluded.data, present = 1, removed_in = '', gen = excluded.gen`, 10)
	err := firstErr(
		func() error {
			return putAll(w, attack.KindTechnique, c.Techniques, func(t *attack.Technique) string { return t.Parent })
		},
		func() error { return putAll(w, attack.KindTactic, c.Tactics, nil) },
		func() error { return putAll(w, attack.KindMitigation, c.Mitigations, nil) },
		func() error { return putAll(w, attack.KindSoftware, c.Software, nil) },
		func() error { return putAll(w, attack.KindGroup, c.Groups, nil) },
		func() error { return putAll(w, attack.KindCampaign, c.Campaigns, nil) },
		func() error { return putAll(w, attack.KindAsset, c.Assets, nil) },
	)
	if cerr := w.batch.close(); err == nil {
		err = cerr
	}
	return err
}

func firstErr(fns ...func() error) error {
	for _, fn := range fns {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// objectPtr is a pointer to one of the attack object types.
type objectPtr[T any] interface {
	*T
	Base() *attack.Object
}

// putAll upserts objects of one kind. The stored JSON leaves out the fields
// the store owns (present, added_in, removed_in): they live in columns.
func putAll[T any, P objectPtr[T]](w *writer, kind attack.Kind, objs []T, parent func(P) string) error {
	for i := range objs {
		o := P(&objs[i])
		b := *o.Base()
		o.Base().Present, o.Base().AddedIn, o.Base().RemovedIn, o.Base().Domain = false, "", "", w.domain
		data, err := json.Marshal(o)
		*o.Base() = b
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, b.ID, err)
		}
		p := ""
		if parent != nil {
			p = parent(o)
		}
		if err := w.batch.add(w.domain, kind, b.ID, b.Name, p, data, 1, w.version, "", w.gen); err != nil {
			return fmt.Errorf("%s %s (or one of the %d before it): %w", kind, b.ID, batchRows-1, err)
		}
	}
	return nil
}

// tactics rewrites the domain's technique → tactic rows (the matrix).
func (w *writer) tactics(techs []attack.Technique) error {
	if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM technique_tactics WHERE domain = ?`, w.domain); err != nil {
		return err
	}
	b := newBatch(w.ctx, w.tx, `INSERT OR IGNORE INTO technique_tactics(domain, tactic_id, technique_id)`, "", 3)
	for _, t := range techs {
		for _, ta := range t.TacticIDs {
			if err := b.add(w.domain, ta, t.ID); err != nil {
				b.close()
				return fmt.Errorf("technique %s tactic %s: %w", t.ID, ta, err)
			}
		}
	}
	return b.close()
}

func (w *writer) relationships(rels []attack.Relationship) error {
	// OR FAIL: an error rolls the whole import back, so a failing statement
	// need not undo its own rows first (that undo is the statement journal).
	head, tail := `INSERT OR FAIL INTO relationships
		(domain, stix_id, type, source_id, source_ref, source_type, source_name, target_id, target_ref,
		 target_type, target_name, description, created, modified, present, added_in, removed_in, gen)`, ""
	if w.hadRelationships {
		tail = `ON CONFLICT (domain, stix_id) DO UPDATE SET type = excluded.type, source_id = excluded.source_id,
			source_ref = excluded.source_ref, source_type = excluded.source_type, source_name = excluded.source_name,
			target_id = excluded.target_id, target_ref = excluded.target_ref, target_type = excluded.target_type,
			target_name = excluded.target_name, description = excluded.description, created = excluded.created,
			modified = excluded.modified, present = 1, removed_in = '', gen = excluded.gen`
	}
	b := newBatch(w.ctx, w.tx, head, tail, 18)
	for _, r := range rels {
		err := b.add(w.domain, r.STIXID, r.Type, r.SourceID, r.SourceRef, r.SourceType, r.SourceName,
			r.TargetID, r.TargetRef, r.TargetType, r.TargetName, r.Description, r.Created, r.Modified, 1, w.version, "", w.gen)
		if err != nil {
			b.close()
			return fmt.Errorf("relationship %s (or one of the %d before it): %w", r.STIXID, batchRows-1, err)
		}
	}
	if err := b.close(); err != nil {
		return fmt.Errorf("relationships (the last %d): %w", batchRows, err)
	}
	return nil
}

// markRemoved flags what this domain had before and the import lacks.
func (w *writer) markRemoved() (attack.Counts, error) {
	var n attack.Counts
	for _, k := range []struct {
		kind attack.Kind
		dst  *int
	}{
		{attack.KindTechnique, &n.Techniques}, {attack.KindTactic, &n.Tactics}, {attack.KindMitigation, &n.Mitigations},
		{attack.KindSoftware, &n.Software}, {attack.KindGroup, &n.Groups}, {attack.KindCampaign, &n.Campaigns},
		{attack.KindAsset, &n.Assets},
	} {
		if !w.hadObjects {
			break
		}
		r, err := w.tx.ExecContext(w.ctx, `UPDATE objects SET present = 0, removed_in = ?
			WHERE domain = ? AND kind = ? AND present = 1 AND gen <> ?`, w.version, w.domain, k.kind, w.gen)
		if err != nil {
			return n, err
		}
		c, _ := r.RowsAffected()
		*k.dst = int(c)
	}
	if !w.hadRelationships {
		return n, nil
	}
	r, err := w.tx.ExecContext(w.ctx, `UPDATE relationships SET present = 0, removed_in = ?
		WHERE domain = ? AND present = 1 AND gen <> ?`, w.version, w.domain, w.gen)
	if err != nil {
		return n, err
	}
	c, _ := r.RowsAffected()
	n.Relationships = int(c)
	return n, nil
}
