package cvedb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/cve"
	"github.com/v2e/v2e/internal/sqlite"
)

// The benchmarks store records generated from the 2,624 real ones of the
// bundled feeds: record i is real record i mod 2,624, compacted, with a new
// id (CVE-<2100+i/100000>-<10000+i%100000>) and its published and
// lastModified dates shifted by (i/2,624)*7 days. Nothing else changes.
// V2E_BENCH_CVES sets how many (default 300,000).

func benchCount() int {
	if n, err := strconv.Atoi(os.Getenv("V2E_BENCH_CVES")); err == nil && n > 0 {
		return n
	}
	return 300_000
}

type template struct {
	raw                []byte // compact
	idField            []byte // `"id":"CVE-..."`
	pubField, modField []byte
	pub, mod           time.Time
}

type generator []template

func newGenerator(tb testing.TB) generator {
	tb.Helper()
	var g generator
	for _, raw := range realRecords(tb) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			tb.Fatal(err)
		}
		r, err := cve.Extract(raw)
		if err != nil {
			tb.Fatal(err)
		}
		var m struct{ ID, Published, LastModified string }
		json.Unmarshal(buf.Bytes(), &m)
		g = append(g, template{
			raw:      buf.Bytes(),
			idField:  []byte(`"id":"` + m.ID + `"`),
			pubField: []byte(`"published":"` + m.Published + `"`),
			modField: []byte(`"lastModified":"` + m.LastModified + `"`),
			pub:      r.Published, mod: r.LastModified,
		})
	}
	return g
}

func genID(i int) string { return fmt.Sprintf("CVE-%d-%d", 2100+i/100_000, 10_000+i%100_000) }

// record returns generated record i.
func (g generator) record(i int) json.RawMessage {
	t := &g[i%len(g)]
	shift := time.Duration(i/len(g)) * 7 * 24 * time.Hour
	b := bytes.Replace(t.raw, t.idField, []byte(`"id":"`+genID(i)+`"`), 1)
	b = bytes.Replace(b, t.pubField, []byte(`"published":"`+cve.FormatTime(t.pub.Add(shift))+`"`), 1)
	return bytes.Replace(b, t.modField, []byte(`"lastModified":"`+cve.FormatTime(t.mod.Add(shift))+`"`), 1)
}

func (g generator) batch(from, n int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for j := range out {
		out[j] = g.record(from + j)
	}
	return out
}

// peakRSS returns the process's peak resident set (VmHWM) in MB.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// cpuTime is the user+system CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ioCalls returns the read and write system calls the process has made so
// far (syscr and syscw of /proc/self/io: pread and pwrite included), 0 where
// the file is missing.
func ioCalls() (reads, writes int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

func fileMB(path string) float64 {
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			total += st.Size()
		}
	}
	return float64(total) / (1 << 20)
}

const benchBatch = 2000

// ingest stores n generated records in batches; generation is not timed.
func ingest(b *testing.B, s *Store, g generator, n int) {
	ctx := context.Background()
	for i := 0; i < n; i += benchBatch {
		b.StopTimer()
		batch := g.batch(i, min(benchBatch, n-i))
		b.StartTimer()
		res, err := s.Save(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if res.Saved != len(batch) {
			b.Fatalf("batch at %d: %+v", i, res)
		}
	}
}

// BenchmarkIngest stores V2E_BENCH_CVES generated records into a new
// database per iteration (run with -benchtime=1x).
func BenchmarkIngest(b *testing.B) {
	g := newGenerator(b)
	n := benchCount()
	b.ReportAllocs()
	b.ResetTimer()
	var path string
	cpu0 := cpuTime()
	r0, w0 := ioCalls()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path = filepath.Join(b.TempDir(), "cve.db")
		s, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ingest(b, s, g, n)
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "cve/s")
	// CPU seconds per record over the whole loop (including the untimed
	// generation): a figure that does not depend on how busy the machine is.
	b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(n*b.N), "cpu-µs/cve")
	// Read and write system calls per record (WAL frames, checkpoint copies;
	// each one exits to the hypervisor on a VM): a count, not a time.
	r1, w1 := ioCalls()
	b.ReportMetric(float64(r1-r0)/float64(n*b.N), "reads/cve")
	b.ReportMetric(float64(w1-w0)/float64(n*b.N), "writes/cve")
	b.ReportMetric(peakRSS(), "peakRSS-MB")
	b.ReportMetric(fileMB(path), "db-MB")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkResave saves already stored records again (all unchanged).
func BenchmarkResave(b *testing.B) {
	s, g, _ := benchStore(b)
	ctx := context.Background()
	batch := g.batch(0, benchBatch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := s.Save(ctx, batch)
		if err != nil || res.Unchanged != len(batch) {
			b.Fatalf("%+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(len(batch)*b.N)/b.Elapsed().Seconds(), "cve/s")
}

var (
	benchOnce sync.Once
	benchS    *Store
	benchErr  error
)

// benchStore opens (building it the first time) a database of
// V2E_BENCH_CVES generated records, kept in the temp dir across runs
// and named by driver, schema version and size.
func benchStore(b *testing.B) (*Store, generator, int) {
	b.Helper()
	g := newGenerator(b)
	n := benchCount()
	benchOnce.Do(func() {
		path := benchPath(n)
		if benchS, benchErr = Open(context.Background(), path); benchErr != nil {
			return
		}
		if c, _ := benchS.Count(context.Background()); c == n {
			return
		}
		b.Logf("building %s", path)
		for i := 0; i < n && benchErr == nil; i += benchBatch {
			_, benchErr = benchS.Save(context.Background(), g.batch(i, min(benchBatch, n-i)))
		}
		if benchErr != nil {
			return
		}
		// Reads are measured on the settled store: closing waits for the
		// background WAL checkpoint of the bulk load, which otherwise
		// competes with the first seconds of reads.
		if benchErr = benchS.Close(); benchErr == nil {
			benchS, benchErr = Open(context.Background(), path)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchS, g, n
}

// benchPath is the benchmark database of n records, named by driver and
// schema version.
func benchPath(n int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("v2e-cvebench-%s-v%d-%d.db", sqlite.DriverName, len(Migrations), n))
}

// warmCache reads the benchmark database once, as a serving store's pages
// are in the page cache: run after the ingest benchmark's 1.2 GB file, the
// reads measured the disk instead (get p99 1.9 ms, p50 0.11 ms against
// 0.16 and 0.02 warm).
func warmCache(b *testing.B) {
	b.Helper()
	warmOnce.Do(func() {
		var f *os.File
		if f, warmErr = os.Open(benchPath(benchCount())); warmErr != nil {
			return
		}
		defer f.Close()
		_, warmErr = io.Copy(io.Discard, f)
	})
	if warmErr != nil {
		b.Fatal(warmErr)
	}
}

// warmOnce reads the file once per process, not at every b.N round.
var (
	warmOnce sync.Once
	warmErr  error
)

// latencies records one duration per operation and reports percentiles.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	slices.Sort(l)
	ms := func(p float64) float64 { return float64(l[int(p*float64(len(l)-1))]) / 1e6 }
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(ms(1), "max-ms")
}

func BenchmarkGet(b *testing.B) {
	s, _, n := benchStore(b)
	warmCache(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make(latencies, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := genID(rng.IntN(n))
		start := time.Now()
		if _, err := s.Get(ctx, id); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	lat.report(b)
}

// benchQueries are the search filters of the issue, each alone and some combined.
func benchQueries() []struct {
	name string
	q    cve.SearchQuery
} {
	return []struct {
		name string
		q    cve.SearchQuery
	}{
		{"none", cve.SearchQuery{}},
		{"query", cve.SearchQuery{Query: "sql injection"}},
		{"query-rare", cve.SearchQuery{Query: "itsourcecode"}},
		{"severity", cve.SearchQuery{Severity: "CRITICAL"}},
		{"cvss-range", cve.SearchQuery{CVSSMin: f64(7), CVSSMax: f64(8.5)}},
		{"cvss-sort", cve.SearchQuery{CVSSMin: f64(9), Sort: "-cvss"}},
		{"cwe", cve.SearchQuery{CWEID: "CWE-79"}},
		{"vendor", cve.SearchQuery{Vendor: "microsoft"}},
		{"vendor-product", cve.SearchQuery{Vendor: "cisco", Product: "ios"}},
		{"product", cve.SearchQuery{Product: "linux_kernel"}},
		{"published", cve.SearchQuery{PublishedFrom: "2027-01-01", PublishedTo: "2027-03-31"}},
		{"modified", cve.SearchQuery{ModifiedFrom: "2027-06-01", ModifiedTo: "2027-06-30", Sort: "-last_modified"}},
		{"status", cve.SearchQuery{Status: "Rejected"}},
		{"kev", cve.SearchQuery{KEV: yes(true)}},
		{"combined", cve.SearchQuery{Query: "remote", Severity: "HIGH,CRITICAL", Vendor: "microsoft", PublishedFrom: "2025-01-01"}},
		{"sort-id", cve.SearchQuery{Severity: "MEDIUM", Sort: "id"}},
	}
}

func BenchmarkSearch(b *testing.B) {
	s, _, _ := benchStore(b)
	ctx := context.Background()
	for _, bq := range benchQueries() {
		for _, page := range []string{"first", "next"} {
			b.Run(bq.name+"/"+page, func(b *testing.B) {
				q := bq.q
				first, err := s.Search(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if page == "next" {
					if first.NextCursor == "" {
						b.Skipf("%d hits: one page", first.Total)
					}
					q.Cursor = first.NextCursor
				}
				lat := make(latencies, 0, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					start := time.Now()
					if _, err := s.Search(ctx, q); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
				}
				lat.report(b)
				b.ReportMetric(float64(first.Total), "hits")
			})
		}
	}
}

func BenchmarkListDeep(b *testing.B) {
	s, _, n := benchStore(b)
	ctx := context.Background()
	lat := make(latencies, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := s.List(ctx, n-100, 100); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	lat.report(b)
}
