package permit

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

func mustPool(t testing.TB, total int) *Pool {
	t.Helper()
	p, err := New(total)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	meta = func(provider string) Holder { return Holder{Service: "meta", Provider: provider} }
	cve  = meta("cve")
	cwe  = meta("cwe")
)

func TestNewNegative(t *testing.T) {
	if _, err := New(-1); !errors.Is(err, ErrNegativeTotal) {
		t.Fatalf("New(-1) err = %v, want ErrNegativeTotal", err)
	}
}

func TestRequestRelease(t *testing.T) {
	type step struct {
		op       string // "req" or "rel"
		h        Holder
		n        int
		want     int // granted or released
		wantFree int
		wantErr  error
	}
	tests := []struct {
		name  string
		total int
		steps []step
	}{
		{"grant all asked", 10, []step{{"req", cve, 4, 4, 6, nil}}},
		{"grant capped at free", 10, []step{{"req", cve, 8, 8, 2, nil}, {"req", cwe, 5, 2, 0, nil}}},
		{"exhausted grants zero, no error", 2, []step{{"req", cve, 2, 2, 0, nil}, {"req", cwe, 1, 0, 0, nil}}},
		{"empty pool grants zero", 0, []step{{"req", cve, 3, 0, 0, nil}}},
		{"release capped at held", 10, []step{{"req", cve, 3, 3, 7, nil}, {"rel", cve, 5, 3, 10, nil}}},
		{"release by non-holder returns zero", 10, []step{{"req", cve, 3, 3, 7, nil}, {"rel", cwe, 2, 0, 7, nil}}},
		{"same provider, other service is another holder", 10, []step{
			{"req", cve, 3, 3, 7, nil}, {"rel", Holder{"local", "cve"}, 3, 0, 7, nil}}},
		{"partial release", 10, []step{{"req", cve, 5, 5, 5, nil}, {"rel", cve, 2, 2, 7, nil}, {"req", cwe, 9, 7, 0, nil}}},
		{"missing provider", 10, []step{{"req", Holder{Service: "meta"}, 1, 0, 0, ErrProviderRequired},
			{"rel", Holder{Service: "meta"}, 1, 0, 0, ErrProviderRequired}}},
		{"zero count", 10, []step{{"req", cve, 0, 0, 0, ErrCountNotPositive}, {"rel", cve, 0, 0, 0, ErrCountNotPositive}}},
		{"negative count", 10, []step{{"req", cve, -3, 0, 0, ErrCountNotPositive}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, tt.total)
			for i, s := range tt.steps {
				var got, free int
				var err error
				if s.op == "req" {
					got, free, err = p.Request(s.h, s.n)
				} else {
					got, free, err = p.Release(s.h, s.n)
				}
				if err != s.wantErr || got != s.want || free != s.wantFree {
					t.Fatalf("step %d %s(%v, %d) = (%d, %d, %v), want (%d, %d, %v)",
						i, s.op, s.h, s.n, got, free, err, s.want, s.wantFree, s.wantErr)
				}
			}
			checkInvariants(t, p)
		})
	}
}

func TestErrorTextsMatchContract(t *testing.T) {
	if got := ErrProviderRequired.Error(); got != "provider_id is required" {
		t.Errorf("ErrProviderRequired = %q", got)
	}
	if got := ErrCountNotPositive.Error(); got != "permit_count must be greater than 0" {
		t.Errorf("ErrCountNotPositive = %q", got)
	}
}

func TestRevokeProportional(t *testing.T) {
	tests := []struct {
		name  string
		holds map[Holder]int
		n     int
		want  map[Holder]int
	}{
		{"exact shares", map[Holder]int{cve: 6, cwe: 2}, 4, map[Holder]int{cve: 3, cwe: 1}},
		{"largest remainder", map[Holder]int{cve: 5, cwe: 3, meta("capec"): 2}, 4,
			map[Holder]int{cve: 2, cwe: 1, meta("capec"): 1}}, // 2.0, 1.2, 0.8
		{"remainder tie goes to larger holding", map[Holder]int{cve: 7, cwe: 2, meta("capec"): 1}, 5,
			map[Holder]int{cve: 4, cwe: 1}}, // 3.5, 1.0, 0.5
		{"more than allocated takes all", map[Holder]int{cve: 2, cwe: 1}, 10, map[Holder]int{cve: 2, cwe: 1}},
		{"zero revokes nothing", map[Holder]int{cve: 2}, 0, map[Holder]int{}},
		{"nothing allocated", map[Holder]int{}, 3, map[Holder]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, 10)
			before := 0
			for h, n := range tt.holds {
				if g, _, _ := p.Request(h, n); g != n {
					t.Fatalf("setup grant %v = %d", h, g)
				}
				before += n
			}
			got := p.RevokeProportional(tt.n)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("RevokeProportional(%d) = %v, want %v", tt.n, got, tt.want)
			}
			sum := 0
			for _, n := range got {
				sum += n
			}
			if want := min(tt.n, before); sum != want {
				t.Errorf("revoked %d in all, want %d", sum, want)
			}
			if st := p.Stats(); st.Allocated != before-sum || st.PermitsRevoked != uint64(sum) {
				t.Errorf("after revoke: allocated %d revoked %d, want %d %d", st.Allocated, st.PermitsRevoked, before-sum, sum)
			}
			checkInvariants(t, p)
		})
	}
}

func TestRevokeTieBreakDeterministic(t *testing.T) {
	for range 20 {
		p := mustPool(t, 10)
		a, b := meta("a"), meta("b")
		p.Request(a, 1)
		p.Request(b, 1)
		got := p.RevokeProportional(1)
		if got[a] != 1 || got[b] != 0 {
			t.Fatalf("tie revoked %v, want a (smaller holder) first", got)
		}
	}
}

func TestResizeAndSetLimit(t *testing.T) {
	p := mustPool(t, 10)
	p.Request(cve, 6)
	p.Request(cwe, 2)
	rev, err := p.Resize(4) // 8 allocated, shrink to 4: revoke 3 from cve, 1 from cwe
	if err != nil {
		t.Fatal(err)
	}
	if rev[cve] != 3 || rev[cwe] != 1 {
		t.Fatalf("Resize(4) revoked %v", rev)
	}
	if st := p.Stats(); st.Total != 4 || st.Limit != 4 || st.Allocated != 4 || st.Available != 0 {
		t.Fatalf("after Resize(4): %+v", st)
	}
	if _, err := p.Resize(-2); !errors.Is(err, ErrNegativeTotal) {
		t.Fatalf("Resize(-2) err = %v", err)
	}
	if _, err := p.Resize(12); err != nil {
		t.Fatal(err)
	}
	if got := p.Available(); got != 8 {
		t.Fatalf("after growing to 12, available %d, want 8", got)
	}
	// Throttled pools keep their limit when the total grows.
	rev = p.SetLimit(2)
	if n := rev[cve] + rev[cwe]; n != 2 {
		t.Fatalf("SetLimit(2) revoked %v", rev)
	}
	p.Resize(20)
	if st := p.Stats(); st.Limit != 2 || st.Total != 20 {
		t.Fatalf("throttled Resize: limit %d total %d, want 2 20", st.Limit, st.Total)
	}
	if g, free, _ := p.Request(meta("capec"), 5); g != 0 || free != 0 {
		t.Fatalf("request at limit granted %d free %d", g, free)
	}
	p.SetLimit(99) // clamped to total
	if st := p.Stats(); st.Limit != 20 {
		t.Fatalf("SetLimit(99) limit %d, want 20", st.Limit)
	}
	checkInvariants(t, p)
}

func TestReleaseService(t *testing.T) {
	p := mustPool(t, 10)
	p.Request(cve, 3)
	p.Request(cwe, 2)
	other := Holder{Service: "local", Provider: "cve"}
	p.Request(other, 1)
	got := p.ReleaseService("meta")
	if len(got) != 2 || got[cve] != 3 || got[cwe] != 2 {
		t.Fatalf("ReleaseService(meta) = %v", got)
	}
	hs := p.Holdings()
	if len(hs) != 1 || hs[0].Holder != other || hs[0].Permits != 1 {
		t.Fatalf("holdings after = %v", hs)
	}
	if got := p.ReleaseService("meta"); len(got) != 0 {
		t.Fatalf("second ReleaseService = %v", got)
	}
	if p.Available() != 9 {
		t.Fatalf("available %d, want 9", p.Available())
	}
}

func TestStatsCounters(t *testing.T) {
	p := mustPool(t, 3)
	p.Request(cve, 2)       // grant 2
	p.Request(cwe, 2)       // grant 1
	p.Request(cwe, 1)       // denied
	p.Release(cve, 1)       // release 1
	p.RevokeProportional(2) // cve 1, cwe 1
	p.Request(Holder{}, 1)  // invalid: not counted
	st := p.Stats()
	want := Stats{Total: 3, Limit: 3, Allocated: 0, Available: 3, Requests: 3, Grants: 2, Denials: 1,
		PermitsGranted: 3, Releases: 1, PermitsReleased: 1, Revocations: 2, PermitsRevoked: 2}
	st.Holdings = nil
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Fatalf("stats\n got %+v\nwant %+v", st, want)
	}
}

// TestConcurrentAccounting hammers one pool from many goroutines with random
// requests, releases, revocations and resizes, then checks that every permit
// is accounted for: granted = released + revoked + still held.
func TestConcurrentAccounting(t *testing.T) {
	p := mustPool(t, 10)
	const workers, ops = 16, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			h := Holder{Service: fmt.Sprint("svc", w%3), Provider: fmt.Sprint("p", w)}
			for range ops {
				switch k := r.IntN(100); {
				case k < 45:
					p.Request(h, 1+r.IntN(4))
				case k < 90:
					p.Release(h, 1+r.IntN(4))
				case k < 94:
					p.RevokeProportional(r.IntN(3))
				case k < 97:
					p.SetLimit(r.IntN(12))
				case k < 99:
					p.Resize(5 + r.IntN(10))
				default:
					p.ReleaseService(h.Service)
				}
				if a := p.Available(); a < 0 {
					t.Errorf("available %d < 0", a)
				}
			}
		})
	}
	wg.Wait()
	st := p.Stats()
	if st.PermitsGranted != st.PermitsReleased+st.PermitsRevoked+uint64(st.Allocated) {
		t.Fatalf("granted %d != released %d + revoked %d + held %d",
			st.PermitsGranted, st.PermitsReleased, st.PermitsRevoked, st.Allocated)
	}
	if st.Requests != st.Grants+st.Denials {
		t.Fatalf("requests %d != grants %d + denials %d", st.Requests, st.Grants, st.Denials)
	}
	checkInvariants(t, p)
}

func checkInvariants(t *testing.T, p *Pool) {
	t.Helper()
	st := p.Stats()
	sum := 0
	for _, h := range st.Holdings {
		if h.Permits <= 0 {
			t.Errorf("holding %v listed with %d permits", h.Holder, h.Permits)
		}
		sum += h.Permits
	}
	if sum != st.Allocated {
		t.Errorf("holdings sum %d != allocated %d", sum, st.Allocated)
	}
	if st.Limit > st.Total || st.Limit < 0 {
		t.Errorf("limit %d outside [0, total %d]", st.Limit, st.Total)
	}
	if st.Available != max(0, st.Limit-st.Allocated) {
		t.Errorf("available %d, want max(0, %d-%d)", st.Available, st.Limit, st.Allocated)
	}
}
