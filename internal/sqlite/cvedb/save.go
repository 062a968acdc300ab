package cvedb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/v2e/v2e/internal/cve"
)

// prepared is one record ready to write: its indexed fields, its compact
// bytes and their hash.
type prepared struct {
	rec  cve.Record
	raw  []byte
	hash [sha256.Size]byte
}

// Save stores a batch of NVD cve objects in one transaction. If any record
// is invalid, or the batch holds more than cve.MaxBatch, nothing is stored
// and the error (wrapping cve.ErrInvalid) names the record by index and id.
func (s *Store) Save(ctx context.Context, records []json.RawMessage) (cve.SaveResult, error) {
	if len(records) > cve.MaxBatch {
		return cve.SaveResult{}, fmt.Errorf("%w: field cves: %d records is over the batch limit %d", cve.ErrInvalid, len(records), cve.MaxBatch)
	}
	ps, err := prepareAll(records)
	if err != nil {
		return cve.SaveResult{}, err
	}
	var res cve.SaveResult
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		res = cve.SaveResult{}
		w := newWriter(ctx, tx)
		defer w.close()
		added := 0
		for i := range ps {
			o, err := w.save(&ps[i])
			if err != nil {
				return fmt.Errorf("cvedb: record %d (%s): %w", i, ps[i].rec.ID, err)
			}
			res.Add(o)
			if o == cve.Saved {
				added++
			}
		}
		if err := w.flush(); err != nil {
			return fmt.Errorf("cvedb: full-text index: %w", err)
		}
		return w.addCount(added)
	})
	if err != nil {
		return cve.SaveResult{}, err
	}
	return res, nil
}

// SaveOne stores one record (see Save) and returns its canonical id and what
// happened to it.
func (s *Store) SaveOne(ctx context.Context, record json.RawMessage) (string, cve.Outcome, error) {
	p, err := prepare(record)
	if err != nil {
		return "", "", fmt.Errorf("cve: %w", err)
	}
	var o cve.Outcome
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		w := newWriter(ctx, tx)
		defer w.close()
		var err error
		if o, err = w.save(&p); err != nil {
			return fmt.Errorf("cvedb: save %s: %w", p.rec.ID, err)
		}
		if err := w.flush(); err != nil {
			return fmt.Errorf("cvedb: save %s: full-text index: %w", p.rec.ID, err)
		}
		if o == cve.Saved {
			return w.addCount(1)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return p.rec.ID, o, nil
}

func prepare(raw json.RawMessage) (prepared, error) {
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return prepared{}, fmt.Errorf("%w: record is not JSON: %w", cve.ErrInvalid, err)
	}
	rec, err := cve.Extract(buf.Bytes())
	if err != nil {
		return prepared{}, err
	}
	return prepared{rec: rec, raw: buf.Bytes(), hash: sha256.Sum256(buf.Bytes())}, nil
}

// prepareAll prepares records on all CPUs and reports the invalid record
// with the lowest index.
func prepareAll(records []json.RawMessage) ([]prepared, error) {
	ps := make([]prepared, len(records))
	errs := make([]error, len(records))
	workers := min(runtime.GOMAXPROCS(0), len(records)/32+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(records); i += workers {
				ps[i], errs[i] = prepare(records[i])
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("cve: record %d%s: %w", i, idHint(records[i]), err)
		}
	}
	return ps, nil
}

// idHint names a record by its id, when it has a readable one.
func idHint(raw json.RawMessage) string {
	var v struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil || v.ID == nil {
		return ""
	}
	return fmt.Sprintf(" (%v)", v.ID)
}

// stored is what the write path needs of a stored record.
type stored struct {
	lastModified int64
	hash         []byte
	cwes         string
	products     string
}

// writer runs the statements of one write transaction, preparing each once.
// Full-text rows are inserted by flush in one statement at the end: FTS5
// writes its pending terms to disk whenever a later statement opens a
// savepoint, so one insert per record would flush once per record.
type writer struct {
	ctx     context.Context
	tx      *sql.Tx
	stmts   map[string]*sql.Stmt
	ftsKeys []int64 // 0 marks a row dropped before the flush
	ftsText []string
	pending map[int64]int // key -> index in ftsKeys
}

func newWriter(ctx context.Context, tx *sql.Tx) *writer {
	return &writer{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}, pending: map[int64]int{}}
}

func (w *writer) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

func (w *writer) exec(query string, args ...any) error {
	st, ok := w.stmts[query]
	if !ok {
		var err error
		if st, err = w.tx.PrepareContext(w.ctx, query); err != nil {
			return err
		}
		w.stmts[query] = st
	}
	_, err := st.ExecContext(w.ctx, args...)
	return err
}

func (w *writer) lookup(k int64) (stored, bool, error) {
	const q = `SELECT last_modified, hash, cwes, products FROM cve WHERE key = ?`
	st, ok := w.stmts[q]
	if !ok {
		var err error
		if st, err = w.tx.PrepareContext(w.ctx, q); err != nil {
			return stored{}, false, err
		}
		w.stmts[q] = st
	}
	var old stored
	err := st.QueryRowContext(w.ctx, k).Scan(&old.lastModified, &old.hash, &old.cwes, &old.products)
	if err == sql.ErrNoRows {
		return stored{}, false, nil
	}
	return old, err == nil, err
}

func (w *writer) addCount(n int) error {
	if n == 0 {
		return nil
	}
	return w.exec(`UPDATE cve_count SET n = n + ?`, n)
}

// save writes one record and says what it did.
func (w *writer) save(p *prepared) (cve.Outcome, error) {
	r := &p.rec
	old, found, err := w.lookup(r.Key)
	if err != nil {
		return "", err
	}
	lm := r.LastModified.UnixMicro()
	switch {
	case !found:
		return cve.Saved, w.insert(p)
	case lm < old.lastModified:
		return cve.Stale, nil
	case lm == old.lastModified && bytes.Equal(old.hash, p.hash[:]):
		return cve.Unchanged, nil
	}
	if err := w.unlink(r.Key, old); err != nil {
		return "", err
	}
	return cve.Updated, w.insert(p)
}

// unlink removes a stored record's rows from every table.
func (w *writer) unlink(k int64, old stored) error {
	for _, q := range []string{`DELETE FROM cve WHERE key = ?`, `DELETE FROM cve_raw WHERE key = ?`} {
		if err := w.exec(q, k); err != nil {
			return err
		}
	}
	for _, c := range splitList(old.cwes) {
		if err := w.exec(`DELETE FROM cve_cwe WHERE cwe = ? AND key = ?`, c, k); err != nil {
			return err
		}
	}
	for _, vp := range splitProducts(old.products) {
		if err := w.exec(`DELETE FROM cve_cpe WHERE vendor = ? AND product = ? AND key = ?`, vp[0], vp[1], k); err != nil {
			return err
		}
	}
	if i, ok := w.pending[k]; ok { // saved earlier in this transaction, not yet indexed
		w.ftsKeys[i] = 0
		delete(w.pending, k)
		return nil
	}
	return w.exec(`DELETE FROM cve_fts WHERE rowid = ?`, k)
}

const insertCVE = `INSERT INTO cve (key, id, published, last_modified, status, source,
	v2_score, v2_severity, v30_score, v30_severity, v31_score, v31_severity, v40_score, v40_severity,
	best_score, best_severity, best_version, kev,
	cisa_exploit_add, cisa_action_due, cisa_required_action, cisa_vulnerability_name,
	cwes, products, hash, description)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (w *writer) insert(p *prepared) error {
	r := &p.rec
	pairs := vendorProducts(r.Products)
	args := []any{r.Key, r.ID, r.Published.UnixMicro(), r.LastModified.UnixMicro(), r.Status, r.Source}
	for _, v := range []string{cve.V2, cve.V30, cve.V31, cve.V40} {
		if s, ok := r.ScoreFor(v); ok {
			args = append(args, s.Base, s.Severity)
		} else {
			args = append(args, nil, nil)
		}
	}
	best, ok := r.Best()
	if !ok {
		best.Base = -1
	}
	args = append(args, best.Base, best.Severity, best.Version, r.InKEV(),
		nullable(r.KEV.ExploitAdd), nullable(r.KEV.ActionDue), nullable(r.KEV.RequiredAction), nullable(r.KEV.VulnerabilityName),
		strings.Join(r.CWEs, ","), joinProducts(pairs), p.hash[:], r.Description)
	if err := w.exec(insertCVE, args...); err != nil {
		return err
	}
	if err := w.exec(`INSERT INTO cve_raw (key, raw) VALUES (?, ?)`, r.Key, p.raw); err != nil {
		return err
	}
	for _, c := range r.CWEs {
		if err := w.exec(`INSERT OR IGNORE INTO cve_cwe (cwe, key) VALUES (?, ?)`, c, r.Key); err != nil {
			return err
		}
	}
	for _, vp := range pairs {
		if err := w.exec(`INSERT OR IGNORE INTO cve_cpe (vendor, product, key) VALUES (?, ?, ?)`, vp[0], vp[1], r.Key); err != nil {
			return err
		}
	}
	if len(r.Texts) > 0 {
		w.pending[r.Key] = len(w.ftsKeys)
		w.ftsKeys = append(w.ftsKeys, r.Key)
		w.ftsText = append(w.ftsText, strings.Join(r.Texts, "\n"))
	}
	return nil
}

// flush inserts the full-text rows of the records saved since the last flush.
func (w *writer) flush() error {
	var ks []int64
	var ts []string
	for i, k := range w.ftsKeys {
		if k != 0 {
			ks, ts = append(ks, k), append(ts, w.ftsText[i])
		}
	}
	w.ftsKeys, w.ftsText = w.ftsKeys[:0], w.ftsText[:0]
	clear(w.pending)
	if len(ks) == 0 {
		return nil
	}
	keys, err := json.Marshal(ks)
	if err != nil {
		return err
	}
	texts, err := json.Marshal(ts)
	if err != nil {
		return err
	}
	return w.exec(`INSERT INTO cve_fts (rowid, text)
		SELECT k.value, t.value FROM json_each(?1) AS k JOIN json_each(?2) AS t ON t.key = k.key`, string(keys), string(texts))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// vendorProducts returns the distinct vendor/product pairs with a vendor.
func vendorProducts(ps []cve.Product) [][2]string {
	var out [][2]string
	for _, p := range ps {
		vp := [2]string{p.Vendor, p.Product}
		if vp[0] == "" || containsPair(out, vp) {
			continue
		}
		out = append(out, vp)
	}
	return out
}

func containsPair(list [][2]string, vp [2]string) bool {
	for _, v := range list {
		if v == vp {
			return true
		}
	}
	return false
}

const (
	unitSep   = "\x1f"
	recordSep = "\x1e"
)

func joinProducts(pairs [][2]string) string {
	var b strings.Builder
	for i, vp := range pairs {
		if i > 0 {
			b.WriteString(recordSep)
		}
		b.WriteString(vp[0] + unitSep + vp[1])
	}
	return b.String()
}

func splitProducts(s string) [][2]string {
	if s == "" {
		return nil
	}
	var out [][2]string
	for _, e := range strings.Split(s, recordSep) {
		v, p, _ := strings.Cut(e, unitSep)
		out = append(out, [2]string{v, p})
	}
	return out
}
