package cvedb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/cve"
)

const (
	feed2026 = "../../../assets/nvd/nvdcve-2.0-2026.json"
	feed2003 = "../../../assets/nvd/nvdcve-2.0-2003.json.zip"
)

var (
	feedOnce sync.Once
	feedRecs []json.RawMessage
	feedErr  error
)

// realRecords returns the 2,624 records of the bundled 2026 and 2003 feeds.
func realRecords(t testing.TB) []json.RawMessage {
	t.Helper()
	feedOnce.Do(func() {
		for _, p := range []string{feed2026, feed2003} {
			recs, err := cve.ReadFeedFile(p)
			if err != nil {
				feedErr = err
				return
			}
			feedRecs = append(feedRecs, recs...)
		}
	})
	if feedErr != nil {
		t.Fatal(feedErr)
	}
	return feedRecs
}

// testRecords is realRecords, trimmed under the race detector (see raceEnabled).
func testRecords(t testing.TB) []json.RawMessage {
	recs := realRecords(t)
	if raceEnabled {
		return recs[:1069+600]
	}
	return recs
}

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "cve.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// loaded returns a new store holding the first n real records.
func loaded(t testing.TB, n int) (*Store, []json.RawMessage) {
	t.Helper()
	s := openStore(t)
	recs := realRecords(t)[:n]
	for i := 0; i < len(recs); i += 1000 {
		if _, err := s.Save(context.Background(), recs[i:min(i+1000, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	return s, recs
}

var (
	sharedOnce  sync.Once
	sharedStore *Store
	sharedDir   string
	sharedErr   error
)

// shared returns one store holding every real record, for tests that only read.
func shared(t testing.TB) (*Store, []json.RawMessage) {
	t.Helper()
	recs := testRecords(t)
	sharedOnce.Do(func() {
		if sharedDir, sharedErr = os.MkdirTemp("", "cvedb-test-"); sharedErr != nil {
			return
		}
		if sharedStore, sharedErr = Open(context.Background(), filepath.Join(sharedDir, "cve.db")); sharedErr != nil {
			return
		}
		for i := 0; i < len(recs) && sharedErr == nil; i += 1000 {
			_, sharedErr = sharedStore.Save(context.Background(), recs[i:min(i+1000, len(recs))])
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedStore, recs
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedStore != nil {
		sharedStore.Close()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

func semantic(t testing.TB, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func idOf(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	r, err := cve.Extract(raw)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func TestSaveGetRoundTripAndIdempotence(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	recs := testRecords(t)
	res, err := s.Save(ctx, recs[:1069])
	if err != nil || res != (cve.SaveResult{Saved: 1069}) {
		t.Fatalf("save 2026 feed: %+v, %v", res, err)
	}
	res, err = s.Save(ctx, recs[1069:])
	if err != nil || res != (cve.SaveResult{Saved: len(recs) - 1069}) {
		t.Fatalf("save 2003 feed: %+v, %v", res, err)
	}
	if n, err := s.Count(ctx); n != len(recs) || err != nil || (!raceEnabled && n != 2624) {
		t.Fatalf("count = %d, %v", n, err)
	}
	var pageSize int
	if err := s.db.Reader().QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil || pageSize != PageSize {
		t.Fatalf("page_size = %d, %v; want %d", pageSize, err, PageSize)
	}
	for _, raw := range recs {
		got, err := s.Get(ctx, idOf(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(semantic(t, got), semantic(t, raw)) {
			t.Fatalf("%s: stored record differs from the saved one", idOf(t, raw))
		}
	}
	// Saving the same records again, pretty-printed or compact, changes nothing.
	res, err = s.Save(ctx, recs[:300])
	if err != nil || res != (cve.SaveResult{Unchanged: 300}) {
		t.Fatalf("second save: %+v, %v", res, err)
	}
	if id, o, err := s.SaveOne(ctx, recs[5]); err != nil || o != cve.Unchanged || id != idOf(t, recs[5]) {
		t.Fatalf("SaveOne again: %s %s %v", id, o, err)
	}
	var compact bytes.Buffer
	json.Compact(&compact, recs[7])
	if _, o, err := s.SaveOne(ctx, compact.Bytes()); err != nil || o != cve.Unchanged {
		t.Fatalf("SaveOne of the compact form of a stored indented record: %s, %v", o, err)
	}
	if n, _ := s.Count(ctx); n != len(recs) {
		t.Fatalf("count after re-save = %d", n)
	}
}

// withChange returns raw with lastModified set and the English description replaced.
func withChange(t testing.TB, raw json.RawMessage, lastModified, description string) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["lastModified"] = lastModified
	if description != "" {
		m["descriptions"] = []any{map[string]any{"lang": "en", "value": description}}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNewerReplacesOlderNeverTheReverse(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	orig := realRecords(t)[0] // CVE-2026-0544, lastModified 2026-01-06T19:25:10.050
	id := idOf(t, orig)
	newer := withChange(t, orig, "2026-02-01T00:00:00.000", "Zebracorn overflow in the parser.")
	if _, o, err := s.SaveOne(ctx, orig); err != nil || o != cve.Saved {
		t.Fatalf("save original: %s, %v", o, err)
	}
	res, err := s.Save(ctx, []json.RawMessage{newer})
	if err != nil || res != (cve.SaveResult{Updated: 1}) {
		t.Fatalf("save newer: %+v, %v", res, err)
	}
	res, err = s.Save(ctx, []json.RawMessage{orig})
	if err != nil || res != (cve.SaveResult{Unchanged: 1, Stale: 1}) {
		t.Fatalf("save older again: %+v, %v", res, err)
	}
	got, _ := s.Get(ctx, id)
	if !reflect.DeepEqual(semantic(t, got), semantic(t, newer)) {
		t.Fatal("the older record replaced the newer one")
	}
	// The full-text index follows the update: the new word matches, the old text does not.
	for query, want := range map[string]int{"zebracorn": 1, "itsourcecode school": 0} {
		r, err := s.Search(ctx, cve.SearchQuery{Query: query})
		if err != nil || r.Total != want || len(r.CVEs) != want {
			t.Errorf("search %q: total %d, %d hits, %v; want %d", query, r.Total, len(r.CVEs), err, want)
		}
	}
	// Several versions of one new id in one batch: the newest wins, the index follows.
	other := realRecords(t)[1]
	v1 := withChange(t, other, "2026-03-01T00:00:00.000", "Wombatrix first text.")
	v2 := withChange(t, other, "2026-03-02T00:00:00.000", "Narwhalite second text.")
	res, err = s.Save(ctx, []json.RawMessage{v1, v2, v1})
	if err != nil || res != (cve.SaveResult{Saved: 1, Updated: 1, Unchanged: 1, Stale: 1}) {
		t.Fatalf("three versions in a batch: %+v, %v", res, err)
	}
	for query, want := range map[string]int{"narwhalite": 1, "wombatrix": 0} {
		r, err := s.Search(ctx, cve.SearchQuery{Query: query})
		if err != nil || r.Total != want {
			t.Errorf("search %q: total %d, %v; want %d", query, r.Total, err, want)
		}
	}
	// Same lastModified with different content replaces (last writer wins at equal time).
	same := withChange(t, orig, "2026-02-01T00:00:00.000", "Quokkaflux overflow.")
	if _, o, err := s.SaveOne(ctx, same); err != nil || o != cve.Updated {
		t.Fatalf("same time, new content: %s, %v", o, err)
	}
	if n, _ := s.Count(ctx); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	checkIntegrity(t, s)
}

func TestBadBatchStoresNothing(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	recs := realRecords(t)
	if _, err := s.Save(ctx, recs[:3]); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get(ctx, idOf(t, recs[0]))
	tests := []struct {
		name  string
		bad   string
		field string
	}{
		{"no id", `{"published":"2026-01-01T00:00:00.000","lastModified":"2026-01-01T00:00:00.000"}`, "record 5: invalid input: field id is missing"},
		{"bad date", `{"id":"CVE-2026-99999","published":"2026-02-30T00:00:00","lastModified":"2026-03-01T00:00:00"}`, "record 5 (CVE-2026-99999): invalid input: field published"},
		{"not JSON", `{"id":`, "record 5: invalid input: record does not decode"},
		{"wrong type", `{"id":"CVE-2026-99999","published":"2026-01-01T00:00:00","lastModified":"2026-01-01T00:00:00","vulnStatus":5}`, "field vulnStatus"},
	}
	for _, tt := range tests {
		batch := []json.RawMessage{withChange(t, recs[0], "2027-01-01T00:00:00.000", "changed")}
		batch = append(batch, recs[3:7]...)
		batch = append(batch, json.RawMessage(tt.bad))
		_, err := s.Save(ctx, batch)
		if !errors.Is(err, cve.ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: err = %v; want ErrInvalid with %q", tt.name, err, tt.field)
		}
	}
	// Across decoding chunks: the first bad record is named, nothing is stored.
	long := append([]json.RawMessage{}, recs[3:900]...)
	long[555] = json.RawMessage(`{"id":"CVE-2026-0001","published":"2026-01-01T00:00:00","lastModified":"2026-01-01T00:00:00","metrics":[]}`)
	long[700] = json.RawMessage(`{}`)
	if _, err := s.Save(ctx, long); !errors.Is(err, cve.ErrInvalid) || !strings.Contains(err.Error(), "record 555 (CVE-2026-0001): invalid input: field metrics") {
		t.Errorf("bad records 555 and 700 of 897: %v", err)
	}
	big := make([]json.RawMessage, cve.MaxBatch+1)
	for i := range big {
		big[i] = recs[i%len(recs)]
	}
	if _, err := s.Save(ctx, big); !errors.Is(err, cve.ErrInvalid) || !strings.Contains(err.Error(), "batch limit") {
		t.Errorf("oversize batch: %v", err)
	}
	if n, _ := s.Count(ctx); n != 3 {
		t.Errorf("count = %d after rejected batches, want 3", n)
	}
	if after, _ := s.Get(ctx, idOf(t, recs[0])); string(after) != string(before) {
		t.Error("a rejected batch changed a stored record")
	}
	if _, _, err := s.SaveOne(ctx, json.RawMessage(`{"id":"CVE-2026-1"}`)); !errors.Is(err, cve.ErrInvalid) || !strings.Contains(err.Error(), "cve_id") {
		t.Errorf("SaveOne bad id: %v", err)
	}
}

func TestGetIsStoredDeleteCWEs(t *testing.T) {
	ctx := context.Background()
	s, _ := loaded(t, 200)
	if ok, err := s.IsStored(ctx, "cve-2026-0544"); !ok || err != nil {
		t.Fatalf("IsStored = %v, %v", ok, err)
	}
	cwes, err := s.CWEs(ctx, "CVE-2026-0544")
	if err != nil || strings.Join(cwes, ",") != "CWE-74,CWE-89" {
		t.Fatalf("CWEs = %v, %v", cwes, err)
	}
	if err := s.Delete(ctx, "CVE-2026-0544"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.IsStored(ctx, "CVE-2026-0544"); ok || err != nil {
		t.Fatalf("after delete IsStored = %v, %v", ok, err)
	}
	for name, err := range map[string]error{
		"get":    func() error { _, err := s.Get(ctx, "CVE-2026-0544"); return err }(),
		"delete": s.Delete(ctx, "CVE-2026-0544"),
		"cwes":   func() error { _, err := s.CWEs(ctx, "CVE-2026-0544"); return err }(),
	} {
		if !errors.Is(err, cve.ErrNotFound) || !strings.Contains(err.Error(), "CVE-2026-0544") {
			t.Errorf("%s of deleted: %v; want ErrNotFound naming the id", name, err)
		}
	}
	if _, err := s.Get(ctx, "CVE-12"); !errors.Is(err, cve.ErrInvalid) {
		t.Errorf("get malformed id: %v", err)
	}
	r, err := s.Search(ctx, cve.SearchQuery{CWEID: "89", Vendor: "itsourcecode"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.CVEs {
		if h.ID == "CVE-2026-0544" {
			t.Fatal("deleted CVE still found by search")
		}
	}
	if n, _ := s.Count(ctx); n != 199 {
		t.Fatalf("count after delete = %d", n)
	}
}

func TestListPages(t *testing.T) {
	ctx := context.Background()
	s, recs := shared(t)
	var ids []string
	for off := 0; ; off += 700 {
		p, err := s.List(ctx, off, 700)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != len(recs) || p.Offset != off || p.Limit != 700 {
			t.Fatalf("page %+v", p)
		}
		for _, raw := range p.CVEs {
			ids = append(ids, idOf(t, raw))
		}
		if len(p.CVEs) < 700 {
			break
		}
	}
	if len(ids) != len(recs) {
		t.Fatalf("listed %d, want %d", len(ids), len(recs))
	}
	for i := 1; i < len(ids); i++ {
		a, _ := cve.IDKey(ids[i-1])
		b, _ := cve.IDKey(ids[i])
		if a >= b {
			t.Fatalf("not in id order: %s then %s", ids[i-1], ids[i])
		}
	}
	if p, err := s.List(ctx, 0, 0); err != nil || len(p.CVEs) != cve.DefaultLimit || p.Limit != cve.DefaultLimit {
		t.Fatalf("default limit: %d, %v", len(p.CVEs), err)
	}
	for _, bad := range [][2]int{{-1, 10}, {0, 1001}, {0, -5}} {
		if _, err := s.List(ctx, bad[0], bad[1]); !errors.Is(err, cve.ErrInvalid) {
			t.Errorf("List(%d, %d): %v", bad[0], bad[1], err)
		}
	}
}

func TestConcurrentReadsWhileWriting(t *testing.T) {
	ctx := context.Background()
	s, recs := loaded(t, 300)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := s.Get(ctx, "CVE-2026-0544"); err != nil {
					errs <- err
					return
				}
				if _, err := s.Search(ctx, cve.SearchQuery{Severity: "HIGH", Limit: 20}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 6; i++ {
		batch := make([]json.RawMessage, 50)
		for j := range batch {
			batch[j] = withChange(t, recs[(i*50+j)%len(recs)], fmt.Sprintf("2027-01-01T00:00:%02d.000", i), "")
		}
		if _, err := s.Save(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkIntegrity(t, s)
}

func TestMigrationFromVersion1(t *testing.T) {
	// Schema version 1: a store written before cve_vendor existed.
	checkMigration(t, realRecords(t)[1069:1300], []cve.SearchQuery{{Vendor: "microsoft", Limit: 1000}}, 1,
		func(ctx context.Context, tx *sql.Tx) error {
			if err := downgradeTo5(ctx, tx); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "DROP TABLE cve_vendor; PRAGMA user_version = 1")
			return err
		})
}

// downgradeTo5 takes a store back to schema version 5: the link tables
// cve_cwe, cve_cpe and cve_vendor, filled from the cwes and products
// columns as that version's writer filled them, and full-text rows whose
// only CPE facets are vendor tokens, as migration 3 builds them.
func downgradeTo5(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`CREATE TABLE cve_cwe (cwe TEXT NOT NULL, key INTEGER NOT NULL, PRIMARY KEY (cwe, key)) WITHOUT ROWID`,
		`CREATE TABLE cve_cpe (vendor TEXT NOT NULL, product TEXT NOT NULL, key INTEGER NOT NULL,
			PRIMARY KEY (product, vendor, key)) WITHOUT ROWID`,
		`CREATE TABLE cve_vendor (vendor TEXT NOT NULL, key INTEGER NOT NULL, PRIMARY KEY (vendor, key)) WITHOUT ROWID`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT key, cwes, products FROM cve`)
	if err != nil {
		return err
	}
	type link struct {
		key            int64
		cwes, products string
	}
	var links []link
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.key, &l.cwes, &l.products); err != nil {
			rows.Close()
			return err
		}
		links = append(links, l)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, l := range links {
		for _, c := range splitList(l.cwes) {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO cve_cwe VALUES (?, ?)`, c, l.key); err != nil {
				return err
			}
		}
		for _, vp := range splitProducts(l.products) {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO cve_cpe VALUES (?, ?, ?)`, vp[0], vp[1], l.key); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO cve_vendor VALUES (?, ?)`, vp[0], l.key); err != nil {
				return err
			}
		}
	}
	for _, stmt := range append(migrate3Stmts(), `PRAGMA user_version = 5`) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
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

// TestMigrationFoldsLinkTables takes a store back to schema version 5
// (link tables, vendor facets only) and checks that migration 6 drops the
// link tables and rebuilds the full-text rows so that CWE, vendor and
// product searches, alone and with words and other filters, answer as in
// a store written with facets from the start.
func TestMigrationFoldsLinkTables(t *testing.T) {
	recs := realRecords(t)
	recs = append(recs[:1200:1200], recs[len(recs)-400:]...) // both feeds
	queries := []cve.SearchQuery{
		{CWEID: "CWE-79", Limit: 1000},
		{CWEID: "NVD-CWE-Other", Sort: "-cvss", Limit: 7},
		{Vendor: "microsoft", Limit: 1000},
		{Product: "windows_xp", Sort: "last_modified", Limit: 1000},
		{Vendor: "cisco", Product: "ios", Sort: "id", Limit: 1000},
		{Query: "remote", Product: "windows_2000", Limit: 1000},
		{Query: "remote", Vendor: "microsoft", Severity: "HIGH", Limit: 1000},
		{Vendor: "microsoft", CWEID: "NVD-CWE-Other", CVSSMin: f64(5), Limit: 1000},
		{Vendor: "nobody-at-all", Limit: 10},
	}
	s := checkMigration(t, recs, queries, 8, downgradeTo5)
	var n int
	if err := s.db.Reader().QueryRowContext(context.Background(),
		`SELECT count(*) FROM sqlite_schema WHERE name IN ('cve_cwe', 'cve_cpe', 'cve_vendor')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("link tables after migrating: %d, %v", n, err)
	}
}

// checkMigration saves recs in a new store and records the answers to
// queries (the first mustHit of them must find something), takes the file
// back to an older schema with downgrade, reopens it — which migrates it —
// and checks that every query answers exactly as before and that SQLite's
// and FTS5's integrity checks pass. It returns the migrated store.
func checkMigration(t *testing.T, recs []json.RawMessage, queries []cve.SearchQuery, mustHit int, downgrade func(context.Context, *sql.Tx) error) *Store {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cve.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(ctx, recs); err != nil {
		t.Fatal(err)
	}
	want := make([]cve.SearchResult, len(queries))
	for i, q := range queries {
		if want[i], err = s.Search(ctx, q); err != nil || (i < mustHit && want[i].Total == 0) {
			t.Fatalf("%+v: %d hits, %v", q, want[i].Total, err)
		}
	}
	if err := s.db.Write(ctx, func(tx *sql.Tx) error { return downgrade(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i, q := range queries {
		got, err := s.Search(ctx, q)
		if err != nil || !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("%+v after migrating: %d hits, %v; want %d", q, got.Total, err, want[i].Total)
		}
	}
	checkIntegrity(t, s)
	return s
}

func TestRecordWithoutDescriptions(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	var m map[string]any
	if err := json.Unmarshal(realRecords(t)[2], &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "descriptions")
	bare, _ := json.Marshal(m)
	id, o, err := s.SaveOne(ctx, bare)
	if err != nil || o != cve.Saved {
		t.Fatalf("save without descriptions: %s, %v", o, err)
	}
	// Updating it deletes a full-text row that was never written, then writes one.
	newer := withChange(t, bare, "2027-01-01T00:00:00.000", "Platypoid text.")
	if _, o, err := s.SaveOne(ctx, newer); err != nil || o != cve.Updated {
		t.Fatalf("update: %s, %v", o, err)
	}
	if r, err := s.Search(ctx, cve.SearchQuery{Query: "platypoid"}); err != nil || r.Total != 1 {
		t.Fatalf("search after update: %d, %v", r.Total, err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Search(ctx, cve.SearchQuery{Query: "platypoid"}); err != nil || r.Total != 0 {
		t.Fatalf("search after delete: %d, %v", r.Total, err)
	}
	checkIntegrity(t, s)
}

// checkIntegrity runs SQLite's and FTS5's own consistency checks.
func checkIntegrity(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO cve_fts (cve_fts, rank) VALUES ('integrity-check', 0)")
		return err
	}); err != nil {
		t.Fatalf("FTS integrity check: %v", err)
	}
	var res string
	if err := s.db.Reader().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q, %v", res, err)
	}
}

// TestMigrationAddsFacets takes a store back to schema version 2 (full-text
// rows of descriptions only, the tokenizer without facet tokens) and checks
// that migration 3 rebuilds the index so that searches answer as in a store
// written with facets from the start.
func TestMigrationAddsFacets(t *testing.T) {
	recs := realRecords(t)
	recs = append(recs[:400:400], recs[len(recs)-400:]...) // both feeds
	queries := []cve.SearchQuery{
		{Query: "remote", Limit: 1000},
		{Query: "remote", Vendor: "microsoft", Limit: 1000},
		{Query: "a* code", Severity: "HIGH,MEDIUM", Sort: "-cvss", Limit: 1000},
		{Query: "vulnerabilidad", PublishedFrom: "2003-03-01", PublishedTo: "2026-01-31", Limit: 1000},
		{Query: "attackers", Vendor: "cisco", Severity: "LOW", PublishedFrom: "2000-01-01", Limit: 1000},
	}
	// Schema version 2: descriptions only, as that version wrote them.
	checkMigration(t, recs, queries, 4, func(ctx context.Context, tx *sql.Tx) error {
		if err := downgradeTo5(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE cve_fts;
			CREATE VIRTUAL TABLE cve_fts USING fts5 (text, content='', contentless_delete=1, detail=none, tokenize='unicode61 remove_diacritics 2');
			PRAGMA user_version = 2`); err != nil {
			return err
		}
		for _, raw := range recs {
			r, err := cve.Extract(raw)
			if err != nil {
				return err
			}
			if len(r.Texts) == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO cve_fts (rowid, text) VALUES (?, ?)`, r.Key, strings.Join(r.Texts, "\n")); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestMigrationRekeysCPE takes a store back to schema version 3 (cve_cpe
// keyed by vendor with a product index) and checks that migration 4 keeps
// every CPE row: product and vendor+product searches answer as before.
func TestMigrationRekeysCPE(t *testing.T) {
	queries := []cve.SearchQuery{
		{Product: "windows_xp", Limit: 1000},
		{Vendor: "cisco", Product: "ios", Sort: "id", Limit: 1000},
		{Query: "remote", Product: "windows_2000", Limit: 1000},
	}
	s := checkMigration(t, realRecords(t)[:1200], queries, len(queries), func(ctx context.Context, tx *sql.Tx) error {
		if err := downgradeTo5(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE cve_cpe_old (vendor TEXT NOT NULL, product TEXT NOT NULL, key INTEGER NOT NULL,
				PRIMARY KEY (vendor, product, key)) WITHOUT ROWID;
			INSERT INTO cve_cpe_old SELECT vendor, product, key FROM cve_cpe;
			DROP TABLE cve_cpe;
			ALTER TABLE cve_cpe_old RENAME TO cve_cpe;
			CREATE INDEX cve_cpe_product ON cve_cpe (product);
			PRAGMA user_version = 3`)
		return err
	})
	var idx int
	if err := s.db.Reader().QueryRowContext(context.Background(), `SELECT count(*) FROM sqlite_schema WHERE name LIKE 'cve_cpe%'`).Scan(&idx); err != nil || idx != 0 {
		t.Fatalf("cve_cpe after migrating: %d, %v", idx, err)
	}
}

// TestMigrationAddsKeyOrder takes a store back to schema version 4 (no
// cve_key_order) and checks that migration 5 adds the index and that
// searches of link-table filters, which sort on it, answer as before.
func TestMigrationAddsKeyOrder(t *testing.T) {
	queries := []cve.SearchQuery{
		{Product: "windows_xp", Limit: 7},
		{CWEID: "CWE-79", Sort: "-cvss", Limit: 5},
		{Vendor: "microsoft", Sort: "last_modified", Limit: 1000},
	}
	s := checkMigration(t, realRecords(t)[:1200], queries, len(queries), func(ctx context.Context, tx *sql.Tx) error {
		if err := downgradeTo5(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DROP INDEX cve_key_order; PRAGMA user_version = 4`)
		return err
	})
	var idx int
	if err := s.db.Reader().QueryRowContext(context.Background(), `SELECT count(*) FROM sqlite_schema WHERE name = 'cve_key_order'`).Scan(&idx); err != nil || idx != 1 {
		t.Fatalf("cve_key_order after migrating: %d, %v", idx, err)
	}
}

// TestOpeningInBackground checks cve.Opening, which local serves while the
// store opens (a long migration): calls wait for the store under their
// context, then reach it; a store that failed to open answers every call
// with the error.
func TestOpeningInBackground(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	var st *Store
	o := cve.OpenInBackground(func() (cve.Store, error) {
		<-release
		var err error
		st, err = Open(ctx, filepath.Join(t.TempDir(), "cve.db"))
		return st, err
	})
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := o.Count(short); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still opening") {
		t.Fatalf("count while opening: %v", err)
	}
	saved := make(chan error, 1)
	go func() {
		_, err := o.Save(ctx, realRecords(t)[:3])
		saved <- err
	}()
	close(release)
	if err := <-saved; err != nil {
		t.Fatalf("save that waited for the store: %v", err)
	}
	if n, err := o.Count(ctx); err != nil || n != 3 {
		t.Fatalf("count after opening: %d, %v", n, err)
	}
	st.Close()

	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := cve.OpenInBackground(func() (cve.Store, error) { return Open(ctx, filepath.Join(notDir, "cve.db")) })
	if _, err := bad.Get(ctx, "CVE-2021-44228"); err == nil || !strings.Contains(err.Error(), "could not be opened") {
		t.Fatalf("get from a store that failed to open: %v", err)
	}
}
