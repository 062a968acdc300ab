package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kill9 kills process id with SIGKILL and waits until the broker has it
// running again.
func kill9(t *testing.T, p *Platform, id string) {
	t.Helper()
	pid := p.RunningPID(t, id)
	signalProcess(t, pid, syscall.SIGKILL)
	p.Eventually(time.Minute, id+" restarted", func() bool {
		np, st := p.PID(t, id)
		return np != pid && np > 0 && st == "running"
	})
}

// TestCrashDuringSync kills local, remote or meta with SIGKILL at random
// points of a CVE sync (V2E_CRASH_KILLS times, default 13: with the 5 of
// TestMetaKillNineResumes and the 2 of TestCrashDuringImports, 20 kills in
// all in every run; the seed is logged):
// the sync completes, the stored records equal the source and none is
// stored twice.
func TestCrashDuringSync(t *testing.T) {
	kills := 13
	if v, err := strconv.Atoi(os.Getenv("V2E_CRASH_KILLS")); err == nil && v > 0 {
		kills = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("V2E_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (V2E_CRASH_SEED reproduces the order of victims and points)", seed)
	rng := rand.New(rand.NewPCG(seed, 9))
	s := metaConfig(t, false, feed2026, "-fault", "slow:-1:30")
	p := Start(t, s.cfg)
	requireRemote(t, p)
	n := int64(s.feed.Len())
	p.MustCall("meta", "RPCStartSession", map[string]any{"session_id": "crash", "results_per_batch": 25}, nil)
	victims := []string{"local", "remote", "meta"}
	for i := 0; i < kills; i++ {
		at := n*int64(i+1)/int64(kills+2) + rng.Int64N(n/int64(kills+2)/2+1)
		victim := victims[rng.IntN(len(victims))]
		var st sessionStatus
		p.Eventually(3*time.Minute, fmt.Sprintf("kill %d: %d stored", i+1, at), func() bool {
			var err error
			st, err = status(p)
			return err == nil && (st.StoredCount >= at || st.State != "running")
		})
		if st.State != "running" {
			t.Logf("sync %s before kill %d", st.State, i+1)
			break
		}
		kill9(t, p, victim)
		t.Logf("kill %d: %s at %d stored", i+1, victim, st.StoredCount)
	}
	st := waitSession(t, p, 5*time.Minute, "completed")
	t.Logf("completed: %d stored, %d errors", st.StoredCount, st.ErrorCount)
	checkStoredEqualsFeed(t, p, s.feed)
	assertNoDuplicates(t, p, s.feed.Len())
}

func assertNoDuplicates(t *testing.T, p *Platform, want int) {
	t.Helper()
	var list struct {
		CVEs []json.RawMessage `json:"cves"`
	}
	seen := map[string]bool{}
	for off := 0; off < want+1000; off += 1000 {
		p.MustCall("local", "RPCListCVEs", map[string]any{"offset": off, "limit": 1000}, &list)
		for _, c := range list.CVEs {
			var v struct{ ID string }
			_ = json.Unmarshal(c, &v)
			if seen[v.ID] {
				t.Fatalf("%s stored twice", v.ID)
			}
			seen[v.ID] = true
		}
	}
	if len(seen) != want {
		t.Fatalf("listed %d distinct CVEs, want %d", len(seen), want)
	}
}

// TestCrashDuringImports kills local while it imports the CWE catalog and
// the ATT&CK workbooks: afterwards each catalog is either absent or whole,
// and importing again gives the ground-truth counts.
func TestCrashDuringImports(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	for _, c := range []struct {
		method string
		count  int // ground truth from INDEX.md: CWE weaknesses; ATT&CK objects of the three workbooks
		delay  time.Duration
	}{
		{"RPCImportCWEs", 964, 150 * time.Millisecond},
		{"RPCImportATTACKs", 0, 400 * time.Millisecond},
	} {
		done := make(chan error, 1)
		go func() { done <- p.Call("local", c.method, nil, nil) }()
		time.Sleep(c.delay)
		kill9(t, p, "local")
		if err := <-done; err == nil {
			t.Logf("%s finished before the kill", c.method)
		}
		var imp struct {
			Success bool
			Count   int
		}
		p.MustCall("local", c.method, nil, &imp)
		if !imp.Success || (c.count > 0 && imp.Count != c.count) || imp.Count == 0 {
			t.Fatalf("%s after the crash: %+v", c.method, imp)
		}
	}
	var list struct{ Total int }
	p.MustCall("local", "RPCListCWEs", map[string]int{"limit": 1}, &list)
	if list.Total < 964 {
		t.Fatalf("CWE list total %d after re-import", list.Total)
	}
	var meta struct {
		TotalTechniques int `json:"total_techniques"`
	}
	p.MustCall("local", "RPCGetAttackImportMetadata", nil, &meta)
	if meta.TotalTechniques < 691 {
		t.Fatalf("ATT&CK after re-import: %+v", meta)
	}
}

// TestSyncUnderEachNVDFault runs a full sync into an empty store while the
// loopback NVD answers twice with each of its failure modes: every sync ends
// completed with every record of the source stored, or — for a 404, which
// NVD gives for a bad request and is not retried — failed with NVD's
// message; never a silent gap.
func TestSyncUnderEachNVDFault(t *testing.T) {
	for _, mode := range []string{"403", "429", "404", "502", "503", "504", "truncate", "novulns", "short", "slow", "reset"} {
		t.Run(mode, func(t *testing.T) {
			s := metaConfig(t, false, feed2026)
			p := Start(t, s.cfg)
			requireRemote(t, p)
			fault := map[string]any{"mode": mode, "count": 2, "retry_after": 1, "delay_ms": 200, "message": "Invalid apiKey"}
			nvdFault(t, s.nvdURL, []map[string]any{{"mode": "slow", "count": 2, "delay_ms": 1}, fault})
			p.MustCall("meta", "RPCStartSession", map[string]any{"session_id": "fault-" + mode, "results_per_batch": 100}, nil)
			var st sessionStatus
			p.Eventually(3*time.Minute, "sync ended", func() bool {
				var err error
				st, err = status(p)
				return err == nil && (st.State == "completed" || st.State == "failed" || st.State == "stopped")
			})
			t.Logf("%s: %s, %d stored, error %q", mode, st.State, st.StoredCount, st.ErrorMessage)
			switch {
			case st.State == "completed":
				checkStoredEqualsFeed(t, p, s.feed)
			case st.State == "failed" && mode == "404":
				if !strings.Contains(st.ErrorMessage, "Invalid apiKey") {
					t.Fatalf("a failed sync must say what NVD answered: %+v", st)
				}
			default:
				t.Fatalf("sync ended %s: %+v", st.State, st)
			}
		})
	}
}
