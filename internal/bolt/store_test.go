package bolt

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/fsm"
	"github.com/v2e/v2e/internal/urn"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time      { return c.t }
func (c *clock) Add(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)

func openTemp(t *testing.T, c *clock) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "session.db")
	s, err := Open(path, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func reopen(t *testing.T, s *Store, path string, c *clock) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

// cveIDs reads the CVE ids of a real NVD API 2.0 page or feed.
func cveIDs(tb testing.TB, path string) []string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var page struct {
		Vulnerabilities []struct {
			CVE struct {
				ID string `json:"id"`
			} `json:"cve"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for _, v := range page.Vulnerabilities {
		ids = append(ids, v.CVE.ID)
	}
	if len(ids) == 0 {
		tb.Fatalf("%s: no CVEs", path)
	}
	return ids
}

func TestOpenCloseTwice(t *testing.T) {
	s, path := openTemp(t, &clock{t0})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.SaveSession(&Session{ID: "x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("SaveSession after Close: %v", err)
	}
	if _, err := s.LoadSession("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("LoadSession after Close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
}

func TestOpenLockedFile(t *testing.T) {
	c := &clock{t0}
	_, path := openTemp(t, c)
	_, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("second Open of a locked file: %v, want an error naming the path", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "no", "such", "dir", "session.db"), Options{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestSessionsPersist(t *testing.T) {
	c := &clock{t0}
	s, path := openTemp(t, c)
	sess := &Session{ID: "job-1", State: fsm.JobRunning, DataType: "cve", StartIndex: 2000, ResultsPerBatch: 100,
		FetchedCount: 300, StoredCount: 298, ErrorCount: 2, ErrorMessage: "CVE-2023-3706: HTTP 503",
		Params: json.RawMessage(`{"last_mod_start_date":"2026-01-01T00:00:00Z"}`), Progress: json.RawMessage(`{"next_index":2300}`)}
	if err := s.SaveSession(sess); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	sess.State = fsm.JobPaused
	if err := s.SaveSession(sess); err != nil {
		t.Fatal(err)
	}
	if !sess.CreatedAt.Equal(t0) || !sess.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("created %v updated %v", sess.CreatedAt, sess.UpdatedAt)
	}
	s = reopen(t, s, path, c)
	got, err := s.LoadSession("job-1")
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(sess)
	if string(gb) != string(wb) {
		t.Errorf("after reopen\n got %s\nwant %s", gb, wb)
	}
	if !strings.Contains(string(gb), `"state":"paused"`) || !strings.Contains(string(gb), `"session_id":"job-1"`) {
		t.Errorf("wire names missing in %s", gb)
	}
	if a, err := s.ActiveSession(); err != nil || a.ID != "job-1" {
		t.Errorf("ActiveSession = %v, %v", a.ID, err)
	}
	if err := s.DeleteSession("job-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadSession("job-1"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "job-1") {
		t.Errorf("LoadSession after delete: %v", err)
	}
	if err := s.DeleteSession("job-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.ActiveSession(); !errors.Is(err, ErrNotFound) {
		t.Errorf("ActiveSession with none: %v", err)
	}
	if err := s.SaveSession(&Session{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty id: %v", err)
	}
}

func TestMacroAndProviders(t *testing.T) {
	c := &clock{t0}
	s, path := openTemp(t, c)
	if err := s.SaveMacro(&MacroRecord{ID: fsm.MacroID, State: fsm.MacroStabilizing, Reason: "all idle"}); err != nil {
		t.Fatal(err)
	}
	last := urn.MustParse("v2e::nvd::cve::CVE-2021-44228")
	recs := []ProviderRecord{
		{ID: "cwe", Type: "cwe", State: fsm.ProviderPaused},
		{ID: "cve", Type: "cve", State: fsm.ProviderWaitingBackoff, ProcessedCount: 4000, ErrorCount: 1, PermitsHeld: 3,
			LastCheckpoint: last, Cursor: json.RawMessage(`{"start_index":4000}`), BackoffUntil: t0.Add(30 * time.Second)},
	}
	for i := range recs {
		if err := s.SaveProvider(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	s = reopen(t, s, path, c)
	m, err := s.LoadMacro(fsm.MacroID)
	if err != nil || m.State != fsm.MacroStabilizing || m.Reason != "all idle" {
		t.Errorf("LoadMacro = %+v, %v", m, err)
	}
	all, err := s.ListProviders()
	if err != nil || len(all) != 2 || all[0].ID != "cve" || all[1].ID != "cwe" {
		t.Fatalf("ListProviders = %+v, %v", all, err)
	}
	cve := all[0]
	if cve.State != fsm.ProviderWaitingBackoff || cve.LastCheckpoint != last || !cve.BackoffUntil.Equal(t0.Add(30*time.Second)) ||
		cve.PermitsHeld != 3 || string(cve.Cursor) != `{"start_index":4000}` || !cve.UpdatedAt.Equal(t0) {
		t.Errorf("cve record %+v", cve)
	}
	if _, err := s.LoadProvider("attack"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LoadProvider(attack): %v", err)
	}
	for _, bad := range []ProviderRecord{{}, {ID: strings.Repeat("p", 65)}, {ID: "cve", ErrorCount: -1}} {
		if err := s.SaveProvider(&bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveProvider(%q): %v", bad.ID, err)
		}
	}
}

func TestPermitEvents(t *testing.T) {
	c := &clock{t0}
	s, path := openTemp(t, c)
	for i, e := range []PermitEvent{
		{ProviderID: "cve", Kind: PermitGranted, Count: 5},
		{ProviderID: "cwe", Kind: PermitGranted, Count: 2},
		{ProviderID: "cve", Kind: PermitRevoked, Count: 2, Reason: "p99 latency 52ms"},
		{ProviderID: "cve", Kind: PermitReleased, Count: 3},
	} {
		c.Add(time.Second)
		got, err := s.AppendPermitEvent(e)
		if err != nil || got.Seq != uint64(i+1) || !got.At.Equal(c.t) {
			t.Fatalf("AppendPermitEvent = %+v, %v", got, err)
		}
	}
	s = reopen(t, s, path, c)
	cve, err := s.ListPermitEvents("cve", 2)
	if err != nil || len(cve) != 2 || cve[0].Kind != PermitReleased || cve[1].Kind != PermitRevoked || cve[1].Reason == "" {
		t.Errorf("ListPermitEvents(cve, 2) = %+v, %v", cve, err)
	}
	all, err := s.ListPermitEvents("", 0)
	if err != nil || len(all) != 4 || all[3].ProviderID != "cve" || all[3].Count != 5 {
		t.Errorf("ListPermitEvents all = %+v, %v", all, err)
	}
	for _, bad := range []PermitEvent{{Kind: PermitGranted}, {ProviderID: "cve", Kind: "stolen"}, {ProviderID: "cve", Kind: PermitGranted, Count: -1}} {
		if _, err := s.AppendPermitEvent(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("AppendPermitEvent(%+v): %v", bad, err)
		}
	}
}
