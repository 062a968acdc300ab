package attackdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/v2e/v2e/internal/attack"
)

// Import stores the catalogs in one transaction: either all of them are
// stored or, on error, none is and the previous data stays as it was.
// Two catalogs of the same domain in one call are refused.
func (s *Store) Import(ctx context.Context, cats ...*attack.Catalog) (attack.ImportResult, error) {
	seen := map[attack.Domain]bool{}
	for _, c := range cats {
		if err := checkDomain(c, seen); err != nil {
			return attack.ImportResult{}, err
		}
	}
	return s.ImportStream(ctx, func(st attack.Sink) error {
		for i, c := range cats {
			if err := st.Objects(i, c); err != nil {
				return err
			}
			if err := st.Relationships(i, c.Relationships); err != nil {
				return err
			}
			if err := st.Done(i, c); err != nil {
				return err
			}
		}
		return nil
	})
}

func checkDomain(c *attack.Catalog, seen map[attack.Domain]bool) error {
	if _, err := attack.ParseDomain(string(c.Domain)); err != nil || c.Domain == "" {
		return fmt.Errorf("%w: catalog %s has domain %q", attack.ErrInvalidArgument, c.Source, c.Domain)
	}
	if seen[c.Domain] {
		return fmt.Errorf("%w: two catalogs of domain %s in one import (%s)", attack.ErrInvalidArgument, c.Domain, c.Source)
	}
	seen[c.Domain] = true
	return nil
}

// ImportStream is Import fed while the catalogs load: load runs inside the
// import's transaction and hands the catalogs to the Sink (a *Stream)
// piece by piece, as xlsx.LoadPathTo does, so that SQLite writes one
// workbook's objects and relationships while the loader still reads the
// rest. An error of load (returned as is) or of the Stream rolls the whole
// import back. The result lists the domains in catalog order (the i of the
// Sink's methods).
func (s *Store) ImportStream(ctx context.Context, load func(attack.Sink) error) (attack.ImportResult, error) {
	var res attack.ImportResult
	now := s.Now().UTC().Format(time.RFC3339)
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
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
		st := &Stream{ctx: ctx, tx: tx, now: now, seen: map[attack.Domain]bool{},
			open: map[int]*writer{}, done: map[int]attack.DomainImport{}}
		if err := load(st); err != nil {
			return err
		}
		if len(st.open) > 0 {
			return fmt.Errorf("attackdb: import: %d catalogs begun and not done", len(st.open))
		}
		idx := slices.Sorted(maps.Keys(st.done))
		res = attack.ImportResult{}
		for _, i := range idx {
			d := st.done[i]
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

// Stream, the attack.Sink of ImportStream, writes catalogs into the
// import's transaction. Objects does not write the catalog's relationships
// (Import passes whole catalogs): Relationships does. A Stream is not safe
// for concurrent use.
type Stream struct {
	ctx  context.Context
	tx   *sql.Tx
	now  string
	seen map[attack.Domain]bool
	open map[int]*writer
	done map[int]attack.DomainImport
}

// Objects begins catalog i: it records the import and writes every object
// and the technique → tactic rows.
func (st *Stream) Objects(i int, c *attack.Catalog) error {
	if _, ok := st.open[i]; ok {
		return fmt.Errorf("attackdb: import %s: catalog %d begun twice", c.Source, i)
	}
	if _, ok := st.done[i]; ok {
		return fmt.Errorf("attackdb: import %s: catalog %d begun twice", c.Source, i)
	}
	if err := checkDomain(c, st.seen); err != nil {
		return err
	}
	w, err := st.begin(c)
	if err != nil {
		return fmt.Errorf("attackdb: import %s: %w", c.Source, err)
	}
	st.open[i] = w
	return nil
}

func (st *Stream) begin(c *attack.Catalog) (*writer, error) {
	r, err := st.tx.ExecContext(st.ctx, `INSERT INTO imports(domain, version, source, imported_at, counts, removed)
		VALUES (?, ?, ?, ?, '{}', '{}')`, c.Domain, c.Version, c.Source, st.now)
	if err != nil {
		return nil, err
	}
	gen, err := r.LastInsertId()
	if err != nil {
		return nil, err
	}
	w := &writer{ctx: st.ctx, tx: st.tx, domain: c.Domain, version: c.Version, source: c.Source, gen: gen}
	if err := w.had(); err != nil {
		return nil, err
	}
	if err := w.objects(c); err != nil {
		return nil, err
	}
	if err := w.tactics(c.Techniques); err != nil {
		return nil, err
	}
	w.beginRelationships()
	return w, nil
}

// Relationships writes more relationships of catalog i.
func (st *Stream) Relationships(i int, rels []attack.Relationship) error {
	w, ok := st.open[i]
	if !ok {
		return fmt.Errorf("attackdb: import: relationships of catalog %d, which is not begun or already done", i)
	}
	if err := w.relationships(rels); err != nil {
		return fmt.Errorf("attackdb: import %s: %w", w.source, err)
	}
	return nil
}

// Done ends catalog i (c is the whole catalog): it marks what the domain
// had before and the catalog lacks as removed and completes the import's
// record.
func (st *Stream) Done(i int, c *attack.Catalog) error {
	w, ok := st.open[i]
	if !ok {
		return fmt.Errorf("attackdb: import %s: catalog %d is not begun or already done", c.Source, i)
	}
	if c.Domain != w.domain {
		return fmt.Errorf("attackdb: import %s: catalog %d ends with domain %s, began with %s", c.Source, i, c.Domain, w.domain)
	}
	d := attack.DomainImport{Domain: c.Domain, Version: c.Version, Source: c.Source, ImportDate: st.now, Counts: c.Counts()}
	if err := w.end(&d); err != nil {
		return fmt.Errorf("attackdb: import %s: %w", c.Source, err)
	}
	delete(st.open, i)
	st.done[i] = d
	return nil
}

func (w *writer) end(d *attack.DomainImport) error {
	if err := w.rels.close(); err != nil {
		return fmt.Errorf("relationships (the last %d): %w", batchRows, err)
	}
	var err error
	if d.Removed, err = w.markRemoved(); err != nil {
		return err
	}
	counts, _ := json.Marshal(d.Counts)
	removed, _ := json.Marshal(d.Removed)
	_, err = w.tx.ExecContext(w.ctx, `UPDATE imports SET counts = ?, removed = ? WHERE gen = ?`, counts, removed, w.gen)
	return err
}

// writer upserts one catalog's rows under one import generation.
type writer struct {
	ctx     context.Context
	tx      *sql.Tx
	domain  attack.Domain
	version string
	source  string
	gen     int64
	batch   *batch // objects
	rels    *batch
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

func (w *writer) beginRelationships() {
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
	w.rels = newBatch(w.ctx, w.tx, head, tail, 18)
}

func (w *writer) relationships(rels []attack.Relationship) error {
	for _, r := range rels {
		err := w.rels.add(w.domain, r.STIXID, r.Type, r.SourceID, r.SourceRef, r.SourceType, r.SourceName,
			r.TargetID, r.TargetRef, r.TargetType, r.TargetName, r.Description, r.Created, r.Modified, 1, w.version, "", w.gen)
		if err != nil {
			w.rels.close()
			return fmt.Errorf("relationship %s (or one of the %d before it): %w", r.STIXID, batchRows-1, err)
		}
	}
	return nil
}

// markRemoved flags what this domain had before and the import lacks.
func (w *writer) markRemoved() (attack.Counts, error) {
	var n attack.Counts
	kinds := []struct {
		kind attack.Kind
		dst  *int
	}{
		{attack.KindTechnique, &n.Techniques}, {attack.KindTactic, &n.Tactics}, {attack.KindMitigation, &n.Mitigations},
		{attack.KindSoftware, &n.Software}, {attack.KindGroup, &n.Groups}, {attack.KindCampaign, &n.Campaigns},
		{attack.KindAsset, &n.Assets},
	}
	if !w.hadObjects {
		kinds = nil // nothing stored before this import: nothing to mark
	}
	for _, k := range kinds {
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
