package sysmon

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeProc(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A /proc tree written from real kernel output, read twice to get rates.
func TestHostAndProcessFromProcTree(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r := &Reader{Root: root, DiskPath: root, Now: func() time.Time { return now }}
	common := map[string]string{
		"meminfo": "MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   18000000 kB\nSwapTotal:       1000000 kB\nSwapFree:         750000 kB\n",
		"loadavg": "0.52 0.40 0.31 2/345 12345\n",
		"uptime":  "12345.67 23456.78\n",
	}
	writeProc(t, root, common)
	writeProc(t, root, map[string]string{
		"stat":    "cpu  1000 0 1000 8000 0 0 0 0 0 0\ncpu0 500 0 500 4000 0 0 0 0 0 0\n",
		"net/dev": "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n",
		"42/stat": "42 (my (odd) proc) S 1 42 42 0 -1 4194560 100 0 0 0 100 50 0 0 20 0 4 0 100 1000000 256 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
	})
	if _, err := r.Host(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Process("local", 42); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Second)
	writeProc(t, root, map[string]string{
		"stat":    "cpu  1500 0 1500 9000 0 0 0 0 0 0\n",
		"net/dev": "  eth0: 11000 10 0 0 0 0 0 0 7000 20 0 0 0 0 0 0\n",
		"42/stat": "42 (my (odd) proc) S 1 42 42 0 -1 4194560 100 0 0 0 300 150 0 0 20 0 4 0 100 1000000 256 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
	})
	h, err := r.Host()
	if err != nil {
		t.Fatal(err)
	}
	if h.CPUUsage != 50 || h.MemoryUsage != 25 || h.SwapUsage != 25 || h.LoadAvg[0] != 0.52 || h.Uptime != 12345.67 {
		t.Fatalf("host: %+v", h)
	}
	if h.NetRx != 11000 || h.NetRxRate != 1000 || h.NetTxRate != 500 || h.DiskTotal == 0 {
		t.Fatalf("net/disk: %+v", h)
	}
	p, err := r.Process("local", 42)
	if err != nil {
		t.Fatal(err)
	}
	// 300 ticks in 10 s = 3 s of CPU in 10 s = 30 % of a core.
	if p.CPU != 30 || p.RSS != 256*uint64(os.Getpagesize()) {
		t.Fatalf("process: %+v", p)
	}
}

func TestReadsTheRealProc(t *testing.T) {
	r := &Reader{}
	h, err := r.Host()
	if err != nil {
		t.Fatal(err)
	}
	if h.MemoryTotal == 0 || h.Uptime <= 0 || h.DiskTotal == 0 {
		t.Fatalf("%+v", h)
	}
	p, err := r.Process("self", os.Getpid())
	if err != nil || p.RSS == 0 {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestHistoryRing(t *testing.T) {
	h := NewHistory(3)
	for i := 1; i <= 5; i++ {
		h.Add(Host{Uptime: float64(i)})
	}
	got := h.Snapshot()
	if len(got) != 3 || got[0].Uptime != 3 || got[2].Uptime != 5 {
		t.Fatalf("%+v", got)
	}
}
