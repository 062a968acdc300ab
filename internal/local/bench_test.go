package local

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/cve"
	"github.com/v2e/v2e/internal/nvd"
	"github.com/v2e/v2e/internal/nvdserver"
	"github.com/v2e/v2e/internal/sqlite/cvedb"
)

// BenchmarkSaveCVEs is local's side of e2e.BenchmarkMetaIngest without the
// other processes: RPCSaveCVEs's handler stores V2E_BENCH_RECORDS (default
// 300,000) records into a new store, in the batches meta sends — 2,000
// records of the loopback NVD's scale catalog (nvdserver -scale, seed 1,
// from the 2026 feed) as it serves them, in id order, as {"cves":[...]}. It
// reports CVE/s and the process's CPU µs per record during the calls
// (cpu-µs/CVE: the store decodes records on every CPU; building the
// batches is not counted, its background checkpoints mostly are). Run it
// with -benchtime 1x. served-order sends the pages as the server serves
// them (ids out of order), as another client of RPCSaveCVEs may: the store
// sorts each batch itself, so it should cost about the same.
func BenchmarkSaveCVEs(b *testing.B) {
	b.Run("id-order", func(b *testing.B) { saveCVEs(b, true) })
	b.Run("served-order", func(b *testing.B) { saveCVEs(b, false) })
}

func saveCVEs(b *testing.B, sorted bool) {
	records := 300000
	if v, err := strconv.Atoi(os.Getenv("V2E_BENCH_RECORDS")); err == nil && v > 0 {
		records = v
	}
	feed, err := nvd.LoadFeeds("../../assets/nvd/nvdcve-2.0-2026.json")
	if err != nil {
		b.Fatal(err)
	}
	cat, err := nvdserver.NewScale(feed.Records(), records, 1)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 2000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		store, err := cvedb.Open(ctx, filepath.Join(b.TempDir(), "cve.db"))
		if err != nil {
			b.Fatal(err)
		}
		h := CVE{Store: store}
		var busy, cpu time.Duration
		for from := 0; from < records; from += batch {
			// meta sends a page in id order (store key order).
			page := make([]int, 0, batch)
			for j := from; j < min(records, from+batch); j++ {
				page = append(page, j)
			}
			if sorted {
				slices.SortStableFunc(page, func(x, y int) int {
					kx, _ := cve.IDKey(cat.ID(x))
					ky, _ := cve.IDKey(cat.ID(y))
					return cmp.Compare(kx, ky)
				})
			}
			params := []byte(`{"cves":[`)
			for k, j := range page {
				if k > 0 {
					params = append(params, ',')
				}
				params = cat.AppendRaw(params, j)
			}
			params = append(params, "]}"...)
			b.StartTimer()
			t0, cpu0 := time.Now(), cpuTime()
			res, err := h.saveBatch(ctx, json.RawMessage(params))
			busy, cpu = busy+time.Since(t0), cpu+cpuTime()-cpu0
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			_ = res
		}
		if err := store.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(records)/busy.Seconds(), "CVE/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(records), "cpu-µs/CVE")
	}
}

// cpuTime is the user+system CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
