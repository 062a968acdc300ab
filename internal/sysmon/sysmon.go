// Package sysmon reads host and per-process metrics from /proc (Linux) and
// keeps a short history of samples so that a UI can draw trends.
package sysmon

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Host is one reading of the machine.
type Host struct {
	Time        time.Time  `json:"time"`
	CPUUsage    float64    `json:"cpu_usage"`    // percent of all cores since the previous reading
	MemoryUsage float64    `json:"memory_usage"` // percent of MemTotal in use (MemTotal-MemAvailable)
	MemoryTotal uint64     `json:"memory_total"` // bytes
	LoadAvg     [3]float64 `json:"load_avg"`
	Uptime      float64    `json:"uptime"`     // seconds
	DiskUsage   float64    `json:"disk_usage"` // percent used of the filesystem holding the data folder
	DiskTotal   uint64     `json:"disk_total"` // bytes
	SwapUsage   float64    `json:"swap_usage"` // percent
	NetRx       uint64     `json:"net_rx"`     // bytes received on all non-loopback interfaces since boot
	NetTx       uint64     `json:"net_tx"`
	NetRxRate   float64    `json:"net_rx_rate"` // bytes/s since the previous reading
	NetTxRate   float64    `json:"net_tx_rate"`
}

// Process is one reading of a process.
type Process struct {
	ID  string  `json:"id"`
	PID int     `json:"pid"`
	CPU float64 `json:"cpu"` // percent of one core since the previous reading
	RSS uint64  `json:"rss"` // bytes
}

// Reader reads /proc under Root (default "/proc") and statfs of DiskPath.
// It remembers the previous reading to turn counters into rates; it is safe
// for concurrent use.
type Reader struct {
	Root     string
	DiskPath string
	Now      func() time.Time

	mu       sync.Mutex
	prevCPU  cpuTimes
	prevNet  [2]uint64
	prevTime time.Time
	prevProc map[int]procTimes
}

type cpuTimes struct{ busy, total uint64 }

type procTimes struct {
	ticks uint64
	at    time.Time
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

func (r *Reader) path(parts ...string) string {
	root := r.Root
	if root == "" {
		root = "/proc"
	}
	return filepath.Join(append([]string{root}, parts...)...)
}

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Host reads the machine's metrics.
func (r *Reader) Host() (Host, error) {
	h := Host{Time: r.now().UTC()}
	var errs []error
	cpu, err := r.cpu()
	errs = append(errs, err)
	mem, err := r.meminfo()
	errs = append(errs, err)
	if mt := mem["MemTotal"]; mt > 0 {
		h.MemoryTotal = mt * 1024
		h.MemoryUsage = pct(mt-min(mem["MemAvailable"], mt), mt)
	}
	if st := mem["SwapTotal"]; st > 0 {
		h.SwapUsage = pct(st-min(mem["SwapFree"], st), st)
	}
	h.LoadAvg, err = r.loadavg()
	errs = append(errs, err)
	h.Uptime, err = r.uptime()
	errs = append(errs, err)
	h.NetRx, h.NetTx, err = r.netdev()
	errs = append(errs, err)
	h.DiskUsage, h.DiskTotal, err = disk(r.DiskPath)
	errs = append(errs, err)

	r.mu.Lock()
	if !r.prevTime.IsZero() {
		if dt := cpu.total - r.prevCPU.total; dt > 0 && cpu.total >= r.prevCPU.total {
			h.CPUUsage = pct(cpu.busy-r.prevCPU.busy, dt)
		}
		if secs := h.Time.Sub(r.prevTime).Seconds(); secs > 0 {
			h.NetRxRate = float64(h.NetRx-min(r.prevNet[0], h.NetRx)) / secs
			h.NetTxRate = float64(h.NetTx-min(r.prevNet[1], h.NetTx)) / secs
		}
	}
	r.prevCPU, r.prevNet, r.prevTime = cpu, [2]uint64{h.NetRx, h.NetTx}, h.Time
	r.mu.Unlock()
	return h, errors.Join(errs...)
}

func pct(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

func (r *Reader) cpu() (cpuTimes, error) {
	data, err := os.ReadFile(r.path("stat"))
	if err != nil {
		return cpuTimes{}, err
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("sysmon: %s: unexpected first line %q", r.path("stat"), line)
	}
	var t cpuTimes
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("sysmon: %s: field %d: %w", r.path("stat"), i+1, err)
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t, nil
}

func (r *Reader) meminfo() (map[string]uint64, error) {
	f, err := os.Open(r.path("meminfo"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		if n, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, sc.Err()
}

func (r *Reader) loadavg() ([3]float64, error) {
	var l [3]float64
	data, err := os.ReadFile(r.path("loadavg"))
	if err != nil {
		return l, err
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return l, fmt.Errorf("sysmon: %s: unexpected content %q", r.path("loadavg"), data)
	}
	for i := range l {
		if l[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return l, fmt.Errorf("sysmon: %s: %w", r.path("loadavg"), err)
		}
	}
	return l, nil
}

func (r *Reader) uptime() (float64, error) {
	data, err := os.ReadFile(r.path("uptime"))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0, fmt.Errorf("sysmon: %s is empty", r.path("uptime"))
	}
	return strconv.ParseFloat(f[0], 64)
}

func (r *Reader) netdev() (rx, tx uint64, err error) {
	f, err := os.Open(r.path("net", "dev"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 9 {
			continue
		}
		a, _ := strconv.ParseUint(fields[0], 10, 64)
		b, _ := strconv.ParseUint(fields[8], 10, 64)
		rx += a
		tx += b
	}
	return rx, tx, sc.Err()
}

func disk(path string) (usage float64, total uint64, err error) {
	if path == "" {
		path = "."
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("sysmon: statfs %s: %w", path, err)
	}
	total = st.Blocks * uint64(st.Bsize)
	free := st.Bfree * uint64(st.Bsize)
	return pct(total-free, total), total, nil
}

// Process reads CPU (percent of one core since the previous reading of the
// same pid) and resident memory of pid.
func (r *Reader) Process(id string, pid int) (Process, error) {
	p := Process{ID: id, PID: pid}
	if pid <= 0 {
		return p, nil
	}
	stat, err := os.ReadFile(r.path(strconv.Itoa(pid), "stat"))
	if err != nil {
		return p, err
	}
	// Fields after the parenthesised command name, which may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return p, fmt.Errorf("sysmon: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 22 {
		return p, fmt.Errorf("sysmon: /proc/%d/stat: %d fields", pid, len(f))
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	rssPages, _ := strconv.ParseUint(f[21], 10, 64)
	p.RSS = rssPages * uint64(os.Getpagesize())
	now := r.now()
	ticks := utime + stime
	r.mu.Lock()
	if r.prevProc == nil {
		r.prevProc = map[int]procTimes{}
	}
	if prev, ok := r.prevProc[pid]; ok && ticks >= prev.ticks {
		if secs := now.Sub(prev.at).Seconds(); secs > 0 {
			p.CPU = 100 * float64(ticks-prev.ticks) / clockTicks / secs
		}
	}
	r.prevProc[pid] = procTimes{ticks: ticks, at: now}
	r.mu.Unlock()
	return p, nil
}

// Forget drops remembered readings of pids not in keep.
func (r *Reader) Forget(keep map[int]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for pid := range r.prevProc {
		if !keep[pid] {
			delete(r.prevProc, pid)
		}
	}
}

// History is a fixed-size ring of host readings.
type History struct {
	mu   sync.Mutex
	buf  []Host
	next int
	full bool
}

// NewHistory keeps the last n readings.
func NewHistory(n int) *History { return &History{buf: make([]Host, max(n, 1))} }

// Add records h, dropping the oldest reading when full.
func (h *History) Add(x Host) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf[h.next] = x
	h.next = (h.next + 1) % len(h.buf)
	if h.next == 0 {
		h.full = true
	}
}

// Snapshot returns the readings, oldest first.
func (h *History) Snapshot() []Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.full {
		return append([]Host(nil), h.buf[:h.next]...)
	}
	return append(append([]Host(nil), h.buf[h.next:]...), h.buf[:h.next]...)
}
