package cvedb

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/v2e/v2e/internal/cve"
)

// prepared is one record ready to write: its indexed fields, its compact
// bytes and their hash, and the rows the writer inserts, built by the
// decoding goroutines so that the single writer only binds and steps.
type prepared struct {
	rec   cve.Record
	raw   []byte
	hash  [sha256.Size]byte
	row   []any       // the cve row, cveColumns order
	pairs [][2]string // distinct vendor/product pairs with a vendor
	fts   string      // the full-text row (ftsText)
}

// Save stores a batch of NVD cve objects in one transaction. If any record
// is invalid, or the batch holds more than cve.MaxBatch, nothing is stored
// and the error (wrapping cve.ErrInvalid) names the record by index and id.
//
// Records are decoded on all CPUs in chunks while the writer applies the
// chunks already decoded, in order, inside the one transaction. When the
// writer is busy with another Save, the batch is decoded whole and may be
// written in that Save's transaction (group.go).
func (s *Store) Save(ctx context.Context, records []json.RawMessage) (cve.SaveResult, error) {
	if len(records) > cve.MaxBatch {
		return cve.SaveResult{}, fmt.Errorf("%w: field cves: %d records is over the batch limit %d", cve.ErrInvalid, len(records), cve.MaxBatch)
	}
	if len(records) == 0 {
		return cve.SaveResult{}, nil
	}
	pl := startPipeline(records)
	defer pl.stop()
	if !s.group.tryLead() {
		ps, err := pl.all()
		if err != nil {
			return cve.SaveResult{}, err
		}
		return s.join(ctx, ps, pl.bytes())
	}
	return s.lead(ctx, len(records), pl.bytes(), func(w *writer) (cve.SaveResult, error) {
		var res cve.SaveResult
		for c := range pl.done {
			ps, err := pl.chunk(c)
			if err != nil {
				return res, err
			}
			outcomes, err := w.apply(ps)
			if err != nil {
				return res, fmt.Errorf("cvedb: save: %w", err)
			}
			for _, o := range outcomes {
				res.Add(o)
			}
		}
		return res, nil
	})
}

// chunkSize is how many records the pipeline decodes and the writer applies
// at a time; the first chunk is firstChunk records, so that the writer
// starts early.
const (
	chunkSize  = 250
	firstChunk = 50
)

// chunkBounds returns the start of every chunk of n records, and n.
func chunkBounds(n int) []int {
	bounds := []int{0}
	for i := min(n, firstChunk); ; i = min(n, i+chunkSize) {
		bounds = append(bounds, i)
		if i == n {
			return bounds
		}
	}
}

// pipeline decodes the records of one Save in chunks on all CPUs. Its
// goroutines are waited for by stop.
type pipeline struct {
	records []json.RawMessage
	bounds  []int // chunk c is records[bounds[c]:bounds[c+1]]
	ps      []prepared
	errs    []error
	done    []chan struct{} // closed when chunk c is decoded
	next    atomic.Int64
	stopped atomic.Bool
	wg      sync.WaitGroup
}

func startPipeline(records []json.RawMessage) *pipeline {
	bounds := chunkBounds(len(records))
	n := len(bounds) - 1
	pl := &pipeline{
		records: records,
		bounds:  bounds,
		ps:      make([]prepared, len(records)),
		errs:    make([]error, len(records)),
		done:    make([]chan struct{}, n),
	}
	for c := range pl.done {
		pl.done[c] = make(chan struct{})
	}
	for range min(runtime.GOMAXPROCS(0), n) {
		pl.wg.Add(1)
		go pl.work()
	}
	return pl
}

func (pl *pipeline) work() {
	defer pl.wg.Done()
	for !pl.stopped.Load() {
		c := int(pl.next.Add(1) - 1)
		if c >= len(pl.done) {
			return
		}
		for i := pl.bounds[c]; i < pl.bounds[c+1]; i++ {
			pl.ps[i], pl.errs[i] = prepare(pl.records[i])
		}
		close(pl.done[c])
	}
}

// chunk waits for chunk c and returns it, or the error of its first bad record.
func (pl *pipeline) chunk(c int) ([]prepared, error) {
	<-pl.done[c]
	lo, hi := pl.bounds[c], pl.bounds[c+1]
	for i := lo; i < hi; i++ {
		if pl.errs[i] != nil {
			return nil, fmt.Errorf("cve: record %d%s: %w", i, idHint(pl.records[i]), pl.errs[i])
		}
	}
	return pl.ps[lo:hi], nil
}

// all waits for every chunk and returns the whole batch, or the error of
// its first bad record.
func (pl *pipeline) all() ([]prepared, error) {
	for c := range pl.done {
		if _, err := pl.chunk(c); err != nil {
			return nil, err
		}
	}
	return pl.ps, nil
}

// bytes is the size of the batch's records.
func (pl *pipeline) bytes() int {
	n := 0
	for _, r := range pl.records {
		n += len(r)
	}
	return n
}

// stop makes the workers finish after their current chunk and waits for them.
func (pl *pipeline) stop() {
	pl.stopped.Store(true)
	pl.wg.Wait()
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
		outcomes, err := w.apply([]prepared{p})
		if err != nil {
			return fmt.Errorf("cvedb: save %s: %w", p.rec.ID, err)
		}
		o = outcomes[0]
		return w.flushFTS()
	})
	if err != nil {
		return "", "", err
	}
	return p.rec.ID, o, nil
}

func prepare(raw json.RawMessage) (prepared, error) {
	rec, compact, err := cve.ExtractCompact(raw) // also rejects what is not JSON
	if err != nil {
		return prepared{}, err
	}
	p := prepared{rec: rec, raw: compact, hash: sha256.Sum256(compact)}
	p.pairs = vendorProducts(rec.Products)
	p.row = cveRow(&p)
	p.fts = ftsText(&p.rec, p.pairs)
	return p, nil
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

// writer runs the statements of one write transaction, preparing each once.
// Full-text rows wait in fts until flushFTS writes them in as few statements
// as possible: FTS5 writes its pending terms to disk as a new segment
// whenever a later statement opens a savepoint, so every statement after an
// FTS insert costs a flush, and more segments cost more merging.
type writer struct {
	ctx     context.Context
	tx      *sql.Tx
	stmts   map[string]*sql.Stmt
	fts     [][]any       // rowid, text; nil marks a row dropped before the flush
	pending map[int64]int // key -> index in fts
}

func newWriter(ctx context.Context, tx *sql.Tx) *writer {
	return &writer{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}, pending: map[int64]int{}}
}

// flushFTS inserts the full-text rows of the records written so far.
func (w *writer) flushFTS() error {
	rows := slices.DeleteFunc(w.fts, func(r []any) bool { return r == nil })
	// In rowid order: FTS5 starts a new segment whenever a rowid is lower
	// than the one before (a batch out of id order cost ~40 µs a record in
	// flushes and merges).
	slices.SortFunc(rows, func(a, b []any) int { return cmp.Compare(a[0].(int64), b[0].(int64)) })
	w.fts = nil
	clear(w.pending)
	return w.insertAll("INSERT INTO cve_fts", []string{"rowid", "text"}, rows)
}

func (w *writer) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

func (w *writer) stmt(query string) (*sql.Stmt, error) {
	st, ok := w.stmts[query]
	if !ok {
		var err error
		if st, err = w.tx.PrepareContext(w.ctx, query); err != nil {
			return nil, err
		}
		w.stmts[query] = st
	}
	return st, nil
}

func (w *writer) exec(query string, args ...any) error {
	st, err := w.stmt(query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(w.ctx, args...)
	return err
}

// maxParams bounds the parameters of one statement (SQLite allows 32766).
const maxParams = 30000

// lookup reads the stored version of the given keys.
func (w *writer) lookup(keys []int64) (map[int64]version, error) {
	found := make(map[int64]version, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), 500)
		args := make([]any, n)
		for i := range n {
			args[i] = keys[i]
		}
		st, err := w.stmt(`SELECT key, last_modified, hash FROM cve WHERE key IN (` + placeholders(n) + `)`)
		if err != nil {
			return nil, err
		}
		rows, err := st.QueryContext(w.ctx, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k int64
			var v version
			if err := rows.Scan(&k, &v.lastModified, &v.hash); err != nil {
				rows.Close()
				return nil, err
			}
			found[k] = v
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return found, nil
}

// version is what decides between two records of one id.
type version struct {
	lastModified int64
	hash         []byte
}

// compare says what saving p over cur does.
func compare(cur version, p *prepared) cve.Outcome {
	lm := p.rec.LastModified.UnixMicro()
	switch {
	case lm < cur.lastModified:
		return cve.Stale
	case lm == cur.lastModified && bytes.Equal(cur.hash, p.hash[:]):
		return cve.Unchanged
	}
	return cve.Updated
}

// apply plans the batch against what is stored (and against earlier records
// of the batch with the same id), removes the records being replaced and
// inserts the winners with multi-row statements. It returns one outcome per
// record.
func (w *writer) apply(ps []prepared) ([]cve.Outcome, error) {
	keys := make([]int64, len(ps))
	for i := range ps {
		keys[i] = ps[i].rec.Key
	}
	old, err := w.lookup(keys)
	if err != nil {
		return nil, err
	}
	current := maps.Clone(old)
	winner := make(map[int64]int, len(ps)) // key -> index in ps of the record to insert
	outcomes := make([]cve.Outcome, len(ps))
	added := 0
	for i := range ps {
		p := &ps[i]
		k := p.rec.Key
		cur, known := current[k]
		o := cve.Saved
		if known {
			o = compare(cur, p)
		}
		outcomes[i] = o
		if o != cve.Saved && o != cve.Updated {
			continue
		}
		if o == cve.Saved {
			added++
		}
		if _, ok := old[k]; ok {
			if err := w.unlink(k); err != nil {
				return nil, fmt.Errorf("record %d (%s): %w", i, p.rec.ID, err)
			}
			delete(old, k)
		}
		winner[k] = i
		current[k] = version{p.rec.LastModified.UnixMicro(), p.hash[:]}
	}
	var order []*prepared
	for i := range ps {
		if winner[ps[i].rec.Key] == i && (outcomes[i] == cve.Saved || outcomes[i] == cve.Updated) {
			order = append(order, &ps[i])
		}
	}
	// In key order, so that rows land on neighbouring B-tree pages: out of
	// order, nearly every row dirtied another page, each copied to the
	// statement journal first (~45 µs a record with unsorted batches).
	slices.SortFunc(order, func(a, b *prepared) int { return cmp.Compare(a.rec.Key, b.rec.Key) })
	if err := w.insert(order); err != nil {
		return nil, err
	}
	return outcomes, w.addCount(added)
}

func (w *writer) addCount(n int) error {
	if n == 0 {
		return nil
	}
	return w.exec(`UPDATE cve_count SET n = n + ?`, n)
}

// unlink removes a stored record's rows from every table.
func (w *writer) unlink(k int64) error {
	for _, q := range []string{`DELETE FROM cve WHERE key = ?`, `DELETE FROM cve_raw WHERE key = ?`} {
		if err := w.exec(q, k); err != nil {
			return err
		}
	}
	if i, ok := w.pending[k]; ok { // written earlier in this transaction, not indexed yet
		w.fts[i] = nil
		delete(w.pending, k)
	} else if err := w.exec(`DELETE FROM cve_fts WHERE rowid = ?`, k); err != nil {
		return err
	}
	return nil
}

var cveColumns = []string{"key", "id", "published", "last_modified", "status", "source",
	"v2_score", "v2_severity", "v30_score", "v30_severity", "v31_score", "v31_severity", "v40_score", "v40_severity",
	"best_score", "best_severity", "best_version", "kev",
	"cisa_exploit_add", "cisa_action_due", "cisa_required_action", "cisa_vulnerability_name",
	"cwes", "products", "hash", "description"}

// insert writes the records to cve, one row per statement (oneRow), and
// to cve_raw with multi-row statements (rowGroups). Full-text rows, which
// also carry the CWE, vendor and product facets, wait for flushFTS.
func (w *writer) insert(ps []*prepared) error {
	var cves, raws [][]any
	for _, p := range ps {
		r := &p.rec
		cves = append(cves, p.row)
		raws = append(raws, []any{r.Key, p.raw})
		w.pending[r.Key] = len(w.fts)
		w.fts = append(w.fts, []any{r.Key, p.fts})
	}
	for _, t := range []struct {
		insert string
		cols   []string
		rows   [][]any
		groups []int
	}{
		{"INSERT INTO cve", cveColumns, cves, oneRow},
		{"INSERT INTO cve_raw", []string{"key", "raw"}, raws, rowGroups},
	} {
		if err := w.insertGroups(t.insert, t.cols, t.rows, t.groups); err != nil {
			return fmt.Errorf("%s: %w", t.insert, err)
		}
	}
	return nil
}

// rowGroups are the statement sizes of a multi-row insert, largest first:
// insertGroups uses the largest that fits what is left, so that a
// transaction prepares a few statements and reuses them instead of
// preparing one of a new size for every chunk.
var rowGroups = []int{64, 16, 4, 1}

// oneRow inserts a row per statement. It is for cve: SQLite runs every
// multi-row INSERT into a rowid table under a statement journal (whatever
// the conflict clause; measured: OR FAIL, OR IGNORE, OR REPLACE alike),
// which copies each existing page the statement changes before changing it,
// and an insert into cve changes a leaf of each of its seven indexes. With
// records whose dates and scores are scattered, as an NVD sync's pages are,
// 64-row statements copied ~450 leaves of 16 KiB each: in the end-to-end
// ingest (BenchmarkMetaIngest, 300,000 records) the journal was 15 % of
// local's CPU, 24 µs per record, against ~4 µs for a statement per row.
var oneRow = []int{1}

// insertAll inserts rows with as few statements as the parameter limit
// allows, for cve_fts: FTS5 writes its pending terms as a new segment at
// every statement, so its rows must go in at once.
func (w *writer) insertAll(insert string, cols []string, rows [][]any) error {
	return w.insertGroups(insert, cols, rows, nil)
}

func (w *writer) insertGroups(insert string, cols []string, rows [][]any, groups []int) error {
	per := maxParams / len(cols)
	row := "(" + placeholders(len(cols)) + ")"
	for len(rows) > 0 {
		n := min(len(rows), per)
		for _, g := range groups {
			if g <= n {
				n = g
				break
			}
		}
		args := make([]any, 0, n*len(cols))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		q := insert + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
		if err := w.exec(q, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func cveRow(p *prepared) []any {
	r := &p.rec
	args := make([]any, 0, len(cveColumns))
	args = append(args, r.Key, r.ID, r.Published.UnixMicro(), r.LastModified.UnixMicro(), r.Status, r.Source)
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
	return append(args, best.Base, best.Severity, best.Version, r.InKEV(),
		nullable(r.KEV.ExploitAdd), nullable(r.KEV.ActionDue), nullable(r.KEV.RequiredAction), nullable(r.KEV.VulnerabilityName),
		strings.Join(r.CWEs, ","), joinProducts(p.pairs), p.hash[:], r.Description)
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

// vendors returns the distinct vendors of pairs, in order.
func vendors(pairs [][2]string) []string {
	var out []string
	for _, vp := range pairs {
		if !slices.Contains(out, vp[0]) {
			out = append(out, vp[0])
		}
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
