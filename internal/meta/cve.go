package meta

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/cve"
	"github.com/v2e/v2e/internal/nvd"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/taskflow"
	"github.com/v2e/v2e/internal/urn"
)

// maxRange is the longest lastModified range NVD accepts in one query.
const maxRange = 120 * 24 * time.Hour

// queryTime is how dates go to remote (NVD's query layout, RFC 3339 compatible).
const queryTime = "2006-01-02T15:04:05.000-07:00"

// cveCursor is where a CVE run stands; it is the provider record's cursor.
type cveCursor struct {
	Mode     string `json:"mode"` // "full" or "incremental"
	Next     int    `json:"next"` // start index of the next page in the current window
	PageSize int    `json:"page_size"`
	Done     int64  `json:"done"`  // progress position
	Total    int64  `json:"total"` // total of the current window (full: all records)
	// Incremental: the lastModified window being walked, in chunks of at
	// most 120 days up to SyncStart.
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
	// SyncStart is when this run began; once it completes it becomes
	// LastSyncEnd, the base of the next incremental sync.
	SyncStart   time.Time `json:"sync_start"`
	LastSyncEnd time.Time `json:"last_sync_end,omitzero"`
}

// cveJob syncs CVEs from remote (NVD) into local.
type cveJob struct{ e *Engine }

func (j cveJob) begin(prev bolt.ProviderRecord, o StartOptions) (json.RawMessage, error) {
	var old cveCursor
	if len(prev.Cursor) > 0 {
		_ = json.Unmarshal(prev.Cursor, &old) // a bad old cursor means a full sync
	}
	now := j.e.cfg.Now().UTC()
	cur := cveCursor{Mode: "full", Next: o.StartIndex, Done: int64(o.StartIndex), PageSize: o.PageSize, SyncStart: now}
	if cur.PageSize <= 0 {
		cur.PageSize = j.e.cfg.PageSize
	}
	if !o.Full && !old.LastSyncEnd.IsZero() {
		cur.Mode, cur.Next, cur.Done = "incremental", 0, 0
		cur.WindowStart = old.LastSyncEnd.Add(-j.e.cfg.Overlap)
		cur.LastSyncEnd = old.LastSyncEnd
	}
	return json.Marshal(cur)
}

func (j cveJob) run(ctx context.Context, p *provider) error {
	var cur cveCursor
	if err := json.Unmarshal(p.record().Cursor, &cur); err != nil {
		return fmt.Errorf("cve: bad cursor %q: %w", p.record().Cursor, err)
	}
	if cur.PageSize <= 0 {
		cur.PageSize = j.e.cfg.PageSize
	}
	for {
		q := map[string]any{}
		if cur.Mode == "incremental" {
			end := cur.WindowStart.Add(maxRange)
			if !end.Before(cur.SyncStart) {
				end = cur.SyncStart
			}
			cur.WindowEnd = end
			q["last_mod_start_date"] = cur.WindowStart.UTC().Format(queryTime)
			q["last_mod_end_date"] = end.UTC().Format(queryTime)
		}
		if err := j.walk(ctx, p, &cur, q); err != nil {
			return err
		}
		if cur.Mode == "full" || !cur.WindowEnd.Before(cur.SyncStart) {
			cur = cveCursor{Mode: "incremental", PageSize: cur.PageSize, Done: cur.Done, Total: cur.Total,
				SyncStart: cur.SyncStart, LastSyncEnd: cur.SyncStart}
			p.setCursor(cur)
			return nil
		}
		cur.WindowStart, cur.Next = cur.WindowEnd, 0
		p.setCursor(cur)
	}
}

// cvePage is one fetched page. Its records are sub-slices of remote's
// answer, passed on to local untouched.
type cvePage struct {
	start int
	total int
	items []json.RawMessage
	// release gives back the buffers items live in (see LentCaller): called
	// once the page is stored and committed, never before.
	release []func()
	// stored receives the outcome of the page's store, which runs in its
	// own goroutine (nil for the first page, stored before the pipeline).
	stored chan error
}

// done gives the page's buffers back: its items must not be used after.
func (pg cvePage) done() {
	for _, release := range pg.release {
		release()
	}
}

// walk fetches and stores the pages of one query from cur.Next on: the first
// page alone (it tells the total), the rest through a taskflow.Pipeline
// whose fetches are bounded by the permits held. Each fetched page is
// stored in local at once from its own goroutine, with at most
// SavesInFlight stores under way, so that local works on page N+1
// (decoding it, preparing rows) while page N is being written, and fetching
// goes on meanwhile whatever the number of permits. The pipeline's commit,
// in page order, waits for the page's store and only then advances the
// cursor and queues checkpoints: a checkpoint never passes a page that is
// not stored, nor one before it. A page stored but not committed when the
// run stops is fetched and stored again on resume: local's save by id makes
// that an "unchanged" record, never a second copy.
func (j cveJob) walk(ctx context.Context, p *provider, cur *cveCursor, q map[string]any) error {
	ps := cur.PageSize
	first, err := j.fetchSlot(ctx, p, q, cur.Next, ps)
	if err != nil {
		return err
	}
	if cur.Mode == "full" {
		cur.Total = int64(first.total)
	} else {
		cur.Total = cur.Done + int64(first.total-cur.Next)
	}
	p.setTotal(cur.Total)
	if err := j.store(ctx, p, first); err != nil {
		return err
	}
	if err := j.commit(p, cur, first); err != nil {
		return err
	}
	first.done()
	remaining := first.total - cur.Next
	if remaining <= 0 || len(first.items) == 0 {
		return nil
	}
	base := cur.Next
	sctx, cancel := context.WithCancel(ctx)
	var stores sync.WaitGroup
	defer func() { cancel(); stores.Wait() }() // stores of pages that will not be committed
	slots := make(chan struct{}, j.e.cfg.SavesInFlight)
	pl := taskflow.Pipeline[cvePage]{
		Fetch: func(ctx context.Context, i int) (cvePage, error) {
			pg, err := j.fetch(ctx, p, q, base+i*ps, ps)
			if err != nil {
				return pg, err
			}
			pg.stored = make(chan error, 1)
			stores.Go(func() { pg.stored <- j.storeSlot(sctx, p, pg, slots) })
			return pg, nil
		},
		Commit: func(ctx context.Context, _ int, pg cvePage) error {
			select {
			case err := <-pg.stored:
				if err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := j.commit(p, cur, pg); err != nil {
				return err
			}
			pg.done()
			return nil
		},
		Limiter: p.lim,
		Window:  4 * max(1, p.want),
		Retry:   taskflow.Retry{Retries: 2, Backoff: taskflow.Exponential(200*time.Millisecond, 2*time.Second)},
	}
	_, err = pl.Run(ctx, 0, (remaining+ps-1)/ps)
	return err
}

// storeSlot stores a page once one of the store slots is free.
func (j cveJob) storeSlot(ctx context.Context, p *provider, pg cvePage, slots chan struct{}) error {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-slots }()
	return j.store(ctx, p, pg)
}

func (j cveJob) fetchSlot(ctx context.Context, p *provider, q map[string]any, start, ps int) (cvePage, error) {
	if err := p.lim.Acquire(ctx); err != nil {
		return cvePage{}, err
	}
	defer p.lim.Release()
	return j.fetch(ctx, p, q, start, ps)
}

// fetch asks remote for one page. Throttling and missing methods are not
// retried by the pipeline: the provider backs off or fails instead. A page
// that comes back with fewer records than it should (remote shrinks its NVD
// page size after failures) is completed with further requests, so that a
// committed page never leaves a hole before the next one.
func (j cveJob) fetch(ctx context.Context, p *provider, q map[string]any, start, ps int) (cvePage, error) {
	pg, err := j.fetchOnce(ctx, p, q, start, ps)
	for err == nil {
		want := min(ps, pg.total-start)
		got := len(pg.items)
		if got >= want {
			break
		}
		var more cvePage
		if more, err = j.fetchOnce(ctx, p, q, start+got, ps-got); err != nil {
			break
		}
		if len(more.items) == 0 {
			err = fmt.Errorf("RPCFetchCVEs start_index %d: no records although %d of %d should follow", start+got, want-got, pg.total)
			break
		}
		pg.items = append(pg.items, more.items...)
		pg.release = append(pg.release, more.release...)
		pg.total = more.total
	}
	return pg, err
}

// fetchOnce is one RPCFetchCVEs. The answer is read with nvd.ScanObject,
// not decoded: the records stay sub-slices of it.
func (j cveJob) fetchOnce(ctx context.Context, p *provider, q map[string]any, start, ps int) (cvePage, error) {
	params := make(map[string]any, len(q)+2)
	for k, v := range q {
		params[k] = v
	}
	params["start_index"], params["results_per_page"] = start, ps
	t0 := time.Now()
	defer func() { p.log.Debug("page fetched", "start_index", start, "took", time.Since(t0)) }()
	raw, release, err := j.e.callLent(ctx, targetRemote, "RPCFetchCVEs", params)
	if err != nil {
		err = fmt.Errorf("RPCFetchCVEs start_index %d: %w", start, err)
		if isTransient(err) || IsNoHandler(err) {
			return cvePage{}, taskflow.Permanent(err)
		}
		return cvePage{}, err
	}
	pg, err := parseFetch(raw)
	if err != nil {
		release()
		return cvePage{}, fmt.Errorf("RPCFetchCVEs start_index %d: %w", start, err)
	}
	pg.start, pg.release = start, []func(){release}
	p.addFetched(len(pg.items))
	return pg, nil
}

// parseFetch reads RPCFetchCVEs's result {total_results, vulnerabilities:
// [{cve}], ...}: the total and the cve objects, as sub-slices of raw.
func parseFetch(raw []byte) (cvePage, error) {
	var pg cvePage
	err := nvd.ScanObject(raw, func(key, value []byte) error {
		if string(value) == "null" {
			return nil // absent, as encoding/json reads it
		}
		switch string(key) {
		case "total_results":
			n, err := nvd.RawInt(value)
			pg.total = n
			return err
		case "vulnerabilities":
			pg.items = pg.items[:0]
			var cve []byte // the item's last "cve" wins, as in encoding/json
			return nvd.ScanObjects(value, func(key, value []byte) error {
				if string(key) == "cve" {
					cve = value
				}
				return nil
			}, func(int) error {
				if len(cve) > 0 && string(cve) != "null" {
					pg.items = append(pg.items, cve)
				}
				cve = nil
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return cvePage{}, fmt.Errorf("bad result: %w", err)
	}
	return pg, nil
}

// store saves a page's records in local, in id order (see sortByID).
func (j cveJob) store(ctx context.Context, p *provider, pg cvePage) error {
	if len(pg.items) == 0 {
		return nil
	}
	t0 := time.Now()
	sortByID(pg.items)
	if err := j.save(ctx, p, pg.items); err != nil {
		return fmt.Errorf("RPCSaveCVEs of %d records from start_index %d: %w", len(pg.items), pg.start, err)
	}
	p.log.Debug("page stored", "start_index", pg.start, "records", len(pg.items), "took", time.Since(t0))
	return nil
}

// commit advances the cursor past a stored page, queueing a checkpoint at
// every CheckpointEvery-th record of the run and at the last record of the
// window.
func (j cveJob) commit(p *provider, cur *cveCursor, pg cvePage) error {
	p.progressed()
	cur.Next = pg.start + len(pg.items)
	cur.Done += int64(len(pg.items))
	last := cur.Next >= pg.total || len(pg.items) == 0
	return p.advance(int64(len(pg.items)), *cur, func(i int) (urn.URN, error) { return cveURN(cveID(pg.items[i])) }, len(pg.items), last)
}

// save stores items in local. Local's batch save is all or nothing, so when
// it refuses a batch as invalid, the batch is split in halves until the bad
// records are alone: each is skipped with a failed checkpoint (and counted in
// error_count), the others are stored.
func (j cveJob) save(ctx context.Context, p *provider, items []json.RawMessage) error {
	body := saveBody(getBody(), items)
	err := j.e.cfg.Caller.Call(ctx, targetLocal, "RPCSaveCVEs", body, nil)
	putBody(body) // Call keeps nothing of its params once it returns
	if err == nil || !errors.Is(err, rpc.Invalid) {
		return err
	}
	if len(items) == 1 {
		id := cveID(items[0])
		p.log.Warn("record refused by local: skipped", "cve_id", id, "err", err)
		p.addError()
		if u, uerr := cveURN(id); uerr == nil {
			return p.checkpoint(u, false, err.Error())
		}
		return nil
	}
	half := len(items) / 2
	if err := j.save(ctx, p, items[:half]); err != nil {
		return err
	}
	return j.save(ctx, p, items[half:])
}

// sortByID sorts a page's records by id in the store's key order
// (cve.IDKey: year, then number), keeping the order of records with the
// same id, and ids that are not valid last. NVD's pages are not in id
// order, nor are the loopback NVD's scale pages. Written out of order each
// record lands on another B-tree page of each table (each one copied to the
// statement journal again), and every full-text row with a lower rowid than
// the one before makes FTS5 flush its pending terms into a new segment: at
// 100,000 records a sorted batch cost local 132 CPU-µs per record instead of
// 226 (local.BenchmarkSaveCVEs). The store now sorts each batch itself too;
// sorting here keeps the order of the page's checkpoints the order in which
// its records are stored. What a page stores, and the outcomes, do not
// depend on the order.
func sortByID(items []json.RawMessage) {
	keys := make([]int64, len(items))
	for i, it := range items {
		k, err := cve.IDKey(cveID(it))
		if err != nil {
			k = math.MaxInt64
		}
		keys[i] = k
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	sorted := make([]json.RawMessage, len(items))
	for i, k := range idx {
		sorted[i] = items[k]
	}
	copy(items, sorted)
}

// bodies keeps the buffers of the last RPCSaveCVEs bodies for the next
// ones: a body is megabytes, and new memory for it costs a page fault per
// 4 KiB on a virtual machine (docs/architecture.md, "Pages of CVEs on the
// wire"). A sync has at most a few saves in flight.
var bodies = make(chan []byte, 4)

func getBody() []byte {
	select {
	case b := <-bodies:
		return b
	default:
		return nil
	}
}

func putBody(b []byte) {
	select {
	case bodies <- b[:0]:
	default:
	}
}

// saveBody builds {"cves":[...]} in b without re-encoding the records.
func saveBody(b []byte, items []json.RawMessage) json.RawMessage {
	n := 10
	for _, it := range items {
		n += len(it) + 1
	}
	if cap(b) < n {
		b = make([]byte, 0, n+n/4) // a quarter more: the next page fits
	}
	b = append(b[:0], `{"cves":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, "]}"...)
}

// cveID reads the id of an NVD cve object, fast when "id" comes first.
func cveID(raw json.RawMessage) string {
	const pre = `{"id":"`
	if bytes.HasPrefix(raw, []byte(pre)) {
		if end := bytes.IndexByte(raw[len(pre):], '"'); end > 0 && plainASCII(raw[len(pre):len(pre)+end]) {
			return string(raw[len(pre) : len(pre)+end])
		}
	}
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.ID
}

// plainASCII reports whether b is printable ASCII without escapes, so that
// its JSON string value is b itself (encoding/json replaces invalid UTF-8).
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

// cveURN is the checkpoint URN of a CVE id.
func cveURN(id string) (urn.URN, error) { return urn.New(urn.NVD, urn.CVE, id) }
