package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The access load benchmarks store the 1,069 records of the bundled 2026 NVD
// feed through RPCSaveCVEs, then call RPCGetCVEByID (target local) over
// loopback. Each run is bounded: a fixed number of requests, whatever b.N
// says (one run takes several seconds, so the framework stops at b.N = 1).
//
//	go test -run '^$' -bench BenchmarkAccessLoad -benchtime 1x ./e2e
//
// V2E_LOAD_RATE and V2E_LOAD_REQUESTS override the rate run's defaults.
var (
	loadRate     = envInt("V2E_LOAD_RATE", 2000)      // requests per second, open loop
	loadRequests = envInt("V2E_LOAD_REQUESTS", 10000) // per rate run: 5 s at loadRate
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

const (
	loadWorkers     = 64   // connections of the rate run
	loadConns       = 1000 // connections of the concurrency run
	loadPerConn     = 10   // requests per connection per round
	loadConcRounds  = 2    // rounds of the concurrency run (RSS after each)
	loadCallTimeout = 30 * time.Second
)

// loadPlatform is the platform a load benchmark runs against.
type loadPlatform struct{ *Platform }

func startLoadPlatform(b *testing.B) *loadPlatform {
	b.Helper()
	cfg := DefaultConfig(b)
	cfg["logging"] = map[string]any{"level": "warn"}
	return &loadPlatform{Start(b, cfg)}
}

func (lp *loadPlatform) call(target, method string, params, out any) error {
	return lp.Call(target, method, params, out)
}

// storeFeed saves the 2026 feed in chunks of 100 (bodies stay under 1 MiB)
// and returns one RPCGetCVEByID body per record.
func (lp *loadPlatform) storeFeed(b *testing.B) [][]byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "assets", "nvd", "nvdcve-2.0-2026.json"))
	if err != nil {
		b.Fatal(err)
	}
	var feed struct {
		Vulnerabilities []struct {
			CVE json.RawMessage `json:"cve"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &feed); err != nil {
		b.Fatal(err)
	}
	recs := make([]json.RawMessage, len(feed.Vulnerabilities))
	bodies := make([][]byte, len(recs))
	for i, v := range feed.Vulnerabilities {
		recs[i] = v.CVE
		var id struct{ ID string }
		if err := json.Unmarshal(v.CVE, &id); err != nil {
			b.Fatal(err)
		}
		bodies[i], _ = json.Marshal(map[string]any{"method": "RPCGetCVEByID", "target": "local", "params": map[string]string{"cve_id": id.ID}})
	}
	for i := 0; i < len(recs); i += 100 {
		if err := lp.call("local", "RPCSaveCVEs", map[string]any{"cves": recs[i:min(i+100, len(recs))]}, nil); err != nil {
			b.Fatal(err)
		}
	}
	var n struct{ Count int }
	if err := lp.call("local", "RPCCountCVEs", nil, &n); err != nil || n.Count != len(recs) {
		b.Fatalf("stored %d of %d: %v", n.Count, len(recs), err)
	}
	return bodies
}

// procMetrics is sysmon's reading of the platform's processes.
type procMetrics struct {
	ID  string
	CPU float64 // percent of one core since the previous reading
	RSS float64 // bytes
}

func (lp *loadPlatform) procs(b *testing.B) []procMetrics {
	b.Helper()
	var m struct{ Processes []procMetrics }
	if err := lp.call("sysmon", "RPCGetSysMetrics", nil, &m); err != nil {
		b.Fatal(err)
	}
	return m.Processes
}

// accessRSS is access's resident set in bytes, as sysmon reports it.
func (lp *loadPlatform) accessRSS(b *testing.B) float64 {
	b.Helper()
	for _, p := range lp.procs(b) {
		if p.ID == "access" {
			return p.RSS
		}
	}
	b.Fatal("sysmon lists no access process")
	return 0
}

// reportCPU reports the CPU each process used since the previous sysmon
// reading, in percent of one core.
func (lp *loadPlatform) reportCPU(b *testing.B) {
	b.Helper()
	for _, p := range lp.procs(b) {
		if p.ID != "sysmon" {
			b.ReportMetric(p.CPU, p.ID+"-cpu-%")
		}
	}
}

// reportRouted reports the broker's p99 of the requests it routed to
// local over its last window (10 s): the share of the latency behind the
// broker, without access and the HTTP client.
func (lp *loadPlatform) reportRouted(b *testing.B) {
	b.Helper()
	var k struct {
		Targets map[string]float64 `json:"target_p99_ms"`
	}
	if err := lp.call("broker", "RPCGetKernelMetrics", nil, &k); err != nil {
		b.Logf("no kernel metrics: %v", err)
		return
	}
	b.ReportMetric(k.Targets["local"], "routed-local-p99-ms")
}

// checkNoRestarts fails b when a process is not running or was restarted.
func (lp *loadPlatform) checkNoRestarts(b *testing.B) {
	b.Helper()
	var l struct {
		Processes []struct {
			ID, Status string
			Restarts   int
		}
	}
	if err := lp.call("broker", "RPCListProcesses", nil, &l); err != nil {
		b.Fatal(err)
	}
	for _, p := range l.Processes {
		if p.Status != "running" || p.Restarts != 0 {
			b.Errorf("after the load: %+v", p)
		}
	}
}

// loadStats gathers the latencies and errors of a run.
type loadStats struct {
	mu      sync.Mutex
	lat     []time.Duration // from the scheduled time (rate run) or the send
	sent    []time.Duration // from the send (rate run only)
	errs    int
	lastErr error
}

func (s *loadStats) add(d time.Duration, err error) { s.addSent(d, 0, err) }

// addSent records a request that took d from its scheduled time and sent
// from the moment it was sent.
func (s *loadStats) addSent(d, sent time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs++
		s.lastErr = err
		return
	}
	s.lat = append(s.lat, d)
	if sent > 0 {
		s.sent = append(s.sent, sent)
	}
}

// pct returns the p-quantile of lat in milliseconds (sorting it).
func pct(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	i := min(len(lat)-1, int(p*float64(len(lat))))
	return float64(lat[i]) / float64(time.Millisecond)
}

func (s *loadStats) pct(p float64) float64 { return pct(s.lat, p) }

func (s *loadStats) report(b *testing.B, elapsed time.Duration) {
	total := len(s.lat) + s.errs
	b.ReportMetric(s.pct(0.50), "p50-ms")
	b.ReportMetric(s.pct(0.99), "p99-ms")
	b.ReportMetric(s.pct(0.999), "p99.9-ms")
	if len(s.sent) > 0 {
		b.ReportMetric(pct(s.sent, 0.99), "p99-from-send-ms")
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(s.errs), "errors")
	if s.errs > 0 {
		b.Errorf("%d of %d requests failed; last: %v", s.errs, total, s.lastErr)
	}
}

// getCVE sends one RPCGetCVEByID body and checks the answer.
func getCVE(c *http.Client, url string, body []byte) error {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || !bytes.HasPrefix(raw, []byte(`{"retcode":0,`)) {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, raw)
	}
	return nil
}

func loadClient(conns int) *http.Client {
	return &http.Client{Timeout: loadCallTimeout, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute,
	}}
}

// BenchmarkAccessLoadRate sends loadRequests RPCGetCVEByID at loadRate per
// second (open loop, round robin over loadWorkers keep-alive connections). Latency is
// measured from each request's scheduled time to the last byte of its answer,
// so a stall counts against every request it delays. The client shares the
// machine's cores with the platform, so it is kept cheap (loadConn): its own
// CPU per request is reported as client-cpu-us/req next to the platform's.
func BenchmarkAccessLoadRate(b *testing.B) {
	lp := startLoadPlatform(b)
	bodies := lp.storeFeed(b)
	addr := strings.TrimPrefix(lp.URL, "http://")
	conns := make([]*loadConn, loadWorkers)
	for w := range conns {
		conns[w] = &loadConn{addr: addr}
		// Warm up the connections and the store.
		for i := range 4 {
			if err := conns[w].post(bodies[(w*4+i)%len(bodies)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		st := &loadStats{lat: make([]time.Duration, 0, loadRequests)}
		lp.procs(b) // starts sysmon's CPU window
		cpu0 := lp.cpuTimes(b)
		// Request i is due at start + i×interval and goes on connection
		// i mod loadWorkers: each connection's goroutine sleeps until its
		// next request is due (no dispatcher handing requests over, which
		// cost a thread wake-up per request). A connection still waiting
		// for its previous answer sends late, and the lateness counts.
		interval := time.Second / time.Duration(loadRate)
		start := time.Now().Add(5 * time.Millisecond) // every goroutine started
		var wg sync.WaitGroup
		for w, c := range conns {
			wg.Go(func() {
				for i := w; i < loadRequests; i += len(conns) {
					due := start.Add(time.Duration(i) * interval)
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
					t0 := time.Now()
					err := c.post(bodies[i%len(bodies)])
					st.addSent(time.Since(due), time.Since(t0), err)
				}
			})
		}
		wg.Wait()
		st.report(b, time.Since(start))
		lp.reportCPUPerRequest(b, cpu0, lp.cpuTimes(b), loadRequests)
		lp.reportCPU(b)
		lp.reportRouted(b)
	}
	b.StopTimer()
	lp.checkNoRestarts(b)
}

// BenchmarkAccessLoadConns opens loadConns connections at once, each sending
// loadPerConn RPCGetCVEByID back to back, for loadConcRounds rounds, and
// reports access's RSS (from sysmon) before and after each round: it must
// not crash nor keep growing.
func BenchmarkAccessLoadConns(b *testing.B) {
	lp := startLoadPlatform(b)
	bodies := lp.storeFeed(b)
	url := lp.URL + "/restful/rpc"
	rssBefore := lp.accessRSS(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		st := &loadStats{lat: make([]time.Duration, 0, loadConns*loadPerConn*loadConcRounds)}
		var rss []float64
		var elapsed time.Duration
		for round := range loadConcRounds {
			client := loadClient(loadConns)
			start := time.Now()
			var wg sync.WaitGroup
			for c := range loadConns {
				wg.Go(func() {
					for k := range loadPerConn {
						t0 := time.Now()
						err := getCVE(client, url, bodies[(c*loadPerConn+k+round)%len(bodies)])
						st.add(time.Since(t0), err)
					}
				})
			}
			wg.Wait()
			elapsed += time.Since(start)
			client.CloseIdleConnections()
			b.StopTimer()
			rss = append(rss, lp.accessRSS(b))
			b.StartTimer()
		}
		st.report(b, elapsed)
		b.ReportMetric(rssBefore/(1<<20), "rss-before-MB")
		for i, v := range rss {
			b.ReportMetric(v/(1<<20), fmt.Sprintf("rss-round%d-MB", i+1))
		}
		if last, first := rss[len(rss)-1], rss[0]; last > 1.5*first {
			b.Errorf("access RSS grew from %.1f MB after round 1 to %.1f MB after round %d", first/(1<<20), last/(1<<20), len(rss))
		}
	}
	b.StopTimer()
	lp.checkNoRestarts(b)
}

// loadConn is one keep-alive HTTP/1.1 connection of the rate run: it writes
// each request in one call and reads the status line, the headers and a
// Content-Length body into reused buffers. net/http's client costs about as
// much CPU per request as access itself (a reader and a writer goroutine per
// connection, a timer, ≈ 70 allocations), and on these shared cores that
// cost is queueing for the server. One request at a time per connection, no
// pipelining: the latency is the server's.
type loadConn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	buf  []byte // request, then body
}

func (lc *loadConn) close() {
	if lc.c != nil {
		lc.c.Close()
		lc.c = nil
	}
}

// post sends body to /restful/rpc and checks the answer is 200 with
// retcode 0. After an error the connection is closed; the next post dials
// again.
func (lc *loadConn) post(body []byte) error {
	if lc.c == nil {
		c, err := net.DialTimeout("tcp", lc.addr, loadCallTimeout)
		if err != nil {
			return err
		}
		lc.c, lc.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	err := lc.roundTrip(body)
	if err != nil {
		lc.close()
	}
	return err
}

func (lc *loadConn) roundTrip(body []byte) error {
	if err := lc.c.SetDeadline(time.Now().Add(loadCallTimeout)); err != nil {
		return err
	}
	req := append(lc.buf[:0], "POST /restful/rpc HTTP/1.1\r\nHost: "...)
	req = append(req, lc.addr...)
	req = append(req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	req = strconv.AppendInt(req, int64(len(body)), 10)
	req = append(req, "\r\n\r\n"...)
	req = append(req, body...)
	lc.buf = req
	if _, err := lc.c.Write(req); err != nil {
		return err
	}
	status, length, err := lc.readHead()
	if err != nil {
		return err
	}
	if cap(lc.buf) < length {
		lc.buf = make([]byte, length)
	}
	raw := lc.buf[:length]
	if _, err := io.ReadFull(lc.r, raw); err != nil {
		return err
	}
	if status != 200 || !bytes.HasPrefix(raw, []byte(`{"retcode":0,`)) {
		return fmt.Errorf("status %d: %.200s", status, raw)
	}
	return nil
}

// readHead reads the status line and headers and returns the status code
// and Content-Length (which access always sends).
func (lc *loadConn) readHead() (status, length int, err error) {
	line, err := lc.r.ReadSlice('\n')
	if err != nil {
		return 0, 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, 0, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, 0, fmt.Errorf("bad status line %q", line)
	}
	length = -1
	for {
		line, err := lc.r.ReadSlice('\n')
		if err != nil {
			return 0, 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil || length < 0 {
				return 0, 0, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return 0, 0, fmt.Errorf("status %d without Content-Length", status)
	}
	return status, length, nil
}

// cpuTimes returns the CPU time (user + system) used so far by this process
// (the client), the broker, access and local, from getrusage and
// /proc/<pid>/stat: unlike latency, CPU per request barely changes with what
// else runs on the machine.
func (lp *loadPlatform) cpuTimes(b *testing.B) map[string]time.Duration {
	b.Helper()
	out := map[string]time.Duration{}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		out["client"] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	pids := map[string]int{"broker": lp.cmd.Process.Pid}
	for _, id := range []string{"access", "local"} {
		pids[id], _ = lp.PID(b, id)
	}
	for id, pid := range pids {
		if d, err := pidCPU(pid); err == nil {
			out[id] = d
		} else {
			b.Logf("no CPU time for %s: %v", id, err)
		}
	}
	return out
}

// reportCPUPerRequest reports each process's CPU microseconds per request
// between two cpuTimes readings.
func (lp *loadPlatform) reportCPUPerRequest(b *testing.B, before, after map[string]time.Duration, requests int) {
	b.Helper()
	for id, t := range after {
		if t0, ok := before[id]; ok {
			b.ReportMetric(float64(t-t0)/float64(time.Microsecond)/float64(requests), id+"-cpu-us/req")
		}
	}
}

// pidCPU is utime + stime of pid from /proc/<pid>/stat (fields 14 and 15,
// in clock ticks of 1/100 s).
func pidCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')') // the command name may hold spaces
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * (time.Second / 100), nil
}
