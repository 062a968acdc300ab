package bolt

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/urn"
)

func TestCheckpoints(t *testing.T) {
	c := &clock{t0}
	s, path := openTemp(t, c)
	ids := cveIDs(t, "../../testdata/nvd/pages/vunnel/full-page.json")
	// Every fifth CVE fails; the cwe provider gets a few of its own.
	for i, id := range ids {
		c.Add(time.Second)
		msg := ""
		if i%5 == 4 {
			msg = fmt.Sprintf("store %s: database is locked", id)
		}
		cp, err := s.AddCheckpoint(urn.MustParse("v2e::nvd::cve::"+id), "cve", msg == "", msg, time.Time{})
		if err != nil || cp.Seq != uint64(i+1) || !cp.ProcessedAt.Equal(c.t) {
			t.Fatalf("AddCheckpoint(%s) = %+v, %v", id, cp, err)
		}
	}
	for _, id := range []string{"CWE-79", "CWE-89"} {
		if _, err := s.AddCheckpoint(urn.MustParse("v2e::mitre::cwe::"+id), "cwe", true, "", t0); err != nil {
			t.Fatal(err)
		}
	}
	s = reopen(t, s, path, c)

	failed := len(ids) / 5
	total, ok, err := s.CountCheckpoints("cve")
	if err != nil || total != len(ids) || ok != len(ids)-failed {
		t.Errorf("CountCheckpoints(cve) = %d, %d, %v; want %d, %d", total, ok, err, len(ids), len(ids)-failed)
	}
	if n, err := s.TotalCheckpoints(); err != nil || n != len(ids)+2 {
		t.Errorf("TotalCheckpoints = %d, %v", n, err)
	}

	cs, n, err := s.ListCheckpoints("cve", 3, false)
	if err != nil || n != len(ids) || len(cs) != 3 {
		t.Fatalf("ListCheckpoints(cve, 3) = %d items, total %d, %v", len(cs), n, err)
	}
	for i, cp := range cs {
		j := len(ids) - 1 - i // newest first
		if cp.URN.ID() != ids[j] || cp.Seq != uint64(j+1) || cp.ProviderID != "cve" || cp.Success != (j%5 != 4) ||
			!cp.ProcessedAt.Equal(t0.Add(time.Duration(j+1)*time.Second)) {
			t.Errorf("checkpoint %d = %+v, want %s", i, cp, ids[j])
		}
		if !cp.Success && cp.ErrorMessage == "" {
			t.Errorf("failed checkpoint %s lost its message", cp.URN)
		}
	}
	okOnly, n, err := s.ListCheckpoints("cve", 0, true)
	if err != nil || n != len(ids)-failed || len(okOnly) != n {
		t.Fatalf("ListCheckpoints(cve, success only) = %d items, total %d, %v", len(okOnly), n, err)
	}
	for i := 1; i < len(okOnly); i++ {
		if !okOnly[i-1].Success || okOnly[i].Seq >= okOnly[i-1].Seq {
			t.Fatalf("success-only list out of order or holds a failure at %d: %+v", i, okOnly[i])
		}
	}
	if cs, n, err := s.ListCheckpoints("attack", 10, false); err != nil || n != 0 || len(cs) != 0 {
		t.Errorf("unknown provider: %v %d %v", cs, n, err)
	}

	// The URN index returns the newest checkpoint of a URN.
	again := urn.MustParse("v2e::nvd::cve::" + ids[0])
	if _, err := s.AddCheckpoint(again, "cve", false, "re-fetch failed", time.Time{}); err != nil {
		t.Fatal(err)
	}
	latest, err := s.LatestCheckpoint("cve", again)
	if err != nil || latest.Seq != uint64(len(ids)+1) || latest.Success {
		t.Errorf("LatestCheckpoint = %+v, %v", latest, err)
	}
	if _, err := s.LatestCheckpoint("cve", urn.MustParse("v2e::nvd::cve::CVE-1999-0001")); !errors.Is(err, ErrNotFound) {
		t.Errorf("LatestCheckpoint of an unseen URN: %v", err)
	}
}

func TestCheckpointInvalid(t *testing.T) {
	s, _ := openTemp(t, &clock{t0})
	if _, err := s.AddCheckpoint(urn.URN{}, "cve", true, "", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero URN: %v", err)
	}
	if _, err := s.AddCheckpoint(urn.MustParse("v2e::nvd::cve::CVE-2021-44228"), "", true, "", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty provider: %v", err)
	}
	if n, _ := s.TotalCheckpoints(); n != 0 {
		t.Errorf("%d checkpoints stored by failed calls", n)
	}
}

func TestEncodeDecodeCheckpoint(t *testing.T) {
	in := Checkpoint{Seq: 7, URN: urn.MustParse("v2e::mitre::attack::T1059.001"), ProviderID: "attack",
		ProcessedAt: t0.Add(123 * time.Nanosecond), Success: false, ErrorMessage: "sheet techniques: row 12"}
	key := []byte{0, 0, 0, 0, 0, 0, 0, 7}
	out, err := decodeCheckpoint("attack", key, encodeCheckpoint(in))
	if err != nil || out != in {
		t.Errorf("round trip = %+v, %v", out, err)
	}
	enc := encodeCheckpoint(in)
	for _, bad := range [][]byte{nil, enc[:9], enc[:12], append(append([]byte{}, enc[:9]...), 0xff, 0xff, 0xff)} {
		if _, err := decodeCheckpoint("attack", key, bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decode %x: %v", bad, err)
		}
	}
}

// TestTransitionWithCheckpointIsAtomic drives a provider Machine whose
// transitions persist through PersistProvider.
func TestTransitionWithCheckpointIsAtomic(t *testing.T) {
	ctx := context.Background()
	c := &clock{t0}
	s, path := openTemp(t, c)
	rec := ProviderRecord{ID: "cve", Type: "cve"}
	m := fsm.NewMachine(fsm.Config[fsm.ProviderState]{ID: "cve", Now: c.Now,
		Persist: fsm.PersistFunc[fsm.ProviderState](func(ctx context.Context, t fsm.Transition[fsm.ProviderState]) error {
			return s.PersistProvider(rec, nil)(ctx, t)
		})})
	for _, to := range []fsm.ProviderState{fsm.ProviderAcquiring, fsm.ProviderRunning} {
		if err := m.Transition(ctx, to, "start"); err != nil {
			t.Fatal(err)
		}
	}
	cp := urn.MustParse("v2e::nvd::cve::CVE-2021-44228")
	rec.ProcessedCount = 100
	_, err := m.Apply(ctx, fsm.Change[fsm.ProviderState]{To: fsm.ProviderPaused, Reason: "user pause", URN: cp,
		Persist: s.PersistProvider(rec, &Checkpoint{URN: cp, Success: true})})
	if err != nil {
		t.Fatal(err)
	}
	// A transition whose checkpoint is invalid must write nothing and leave
	// the machine paused.
	rec.ProcessedCount = 200
	_, err = m.Apply(ctx, fsm.Change[fsm.ProviderState]{To: fsm.ProviderTerminated,
		Persist: s.PersistProvider(rec, &Checkpoint{Success: true})})
	if !errors.Is(err, ErrInvalid) || m.State() != fsm.ProviderPaused {
		t.Fatalf("bad checkpoint: %v, state %s", err, m.State())
	}
	s = reopen(t, s, path, c)
	got, err := s.LoadProvider("cve")
	if err != nil || got.State != fsm.ProviderPaused || got.ProcessedCount != 100 || got.LastCheckpoint != cp {
		t.Errorf("provider after reopen = %+v, %v", got, err)
	}
	if total, _, _ := s.CountCheckpoints("cve"); total != 1 {
		t.Errorf("%d checkpoints, want 1", total)
	}
	if err := s.PersistProvider(ProviderRecord{ID: "cwe"}, nil)(ctx, fsm.Transition[fsm.ProviderState]{Machine: "cve"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("record of another machine: %v", err)
	}
}

func TestCommitProgress(t *testing.T) {
	c := &clock{t0}
	s, _ := openTemp(t, c)
	rec := &ProviderRecord{ID: "cve", Type: "cve", State: fsm.ProviderRunning, ProcessedCount: 100}
	u := urn.MustParse("v2e::nvd::cve::CVE-2023-45109")
	cp, err := s.CommitProgress(rec, Checkpoint{URN: u, Success: true})
	if err != nil || cp.ProviderID != "cve" || rec.LastCheckpoint != u {
		t.Fatalf("CommitProgress = %+v, %v", cp, err)
	}
	if _, err := s.CommitProgress(rec, Checkpoint{URN: u, ProviderID: "cwe"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("mismatched provider: %v", err)
	}
	got, _ := s.LoadProvider("cve")
	if got.LastCheckpoint != u || got.ProcessedCount != 100 {
		t.Errorf("record %+v", got)
	}
}

func TestPersisters(t *testing.T) {
	ctx := context.Background()
	c := &clock{t0}
	s, _ := openTemp(t, c)
	mc := fsm.NewMacro(fsm.Config[fsm.MacroState]{Persist: s.MacroPersister(), Now: c.Now})
	if err := mc.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := s.LoadMacro(fsm.MacroID); err != nil || r.State != fsm.MacroStabilizing {
		t.Errorf("macro record %+v, %v", r, err)
	}
	sess := Session{ID: "job-1", DataType: "cve", ResultsPerBatch: 100}
	jm := fsm.NewMachine(fsm.Config[fsm.JobState]{ID: "job-1"})
	if _, err := jm.Apply(ctx, fsm.Change[fsm.JobState]{To: fsm.JobRunning, Persist: s.PersistSession(sess)}); err != nil {
		t.Fatal(err)
	}
	sess.FetchedCount = 100
	_, err := jm.Apply(ctx, fsm.Change[fsm.JobState]{To: fsm.JobFailed, Err: errors.New("NVD 403"), Persist: s.PersistSession(sess)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadSession("job-1")
	if err != nil || got.State != fsm.JobFailed || got.ErrorMessage != "NVD 403" || got.FetchedCount != 100 {
		t.Errorf("session %+v, %v", got, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.MacroPersister()(cancelled, fsm.Transition[fsm.MacroState]{Machine: fsm.MacroID}); !errors.Is(err, context.Canceled) {
		t.Errorf("persist with cancelled context: %v", err)
	}
}
