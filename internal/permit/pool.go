package permit

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Errors returned by Pool. The texts of ErrProviderRequired and
// ErrCountNotPositive are the contract's wire texts (contract §5, broker), so
// Pool returns them unwrapped and the broker may send err.Error() as is.
var (
	// ErrProviderRequired: the holder has an empty Provider.
	ErrProviderRequired = errors.New("provider_id is required")
	// ErrCountNotPositive: permit_count was zero or negative.
	ErrCountNotPositive = errors.New("permit_count must be greater than 0")
	// ErrNegativeTotal is wrapped by New and Resize when asked for a negative size.
	ErrNegativeTotal = errors.New("permit: total must not be negative")
)

// DefaultTotal is the pool size when broker.permits.total is absent.
const DefaultTotal = 10

// Holder identifies who holds permits: the process that asked (the message's
// source) and the provider it asked for (payload provider_id). Keeping the
// process lets the broker return the permits of a service that dies
// (ReleaseService) and address RPCOnQuotaUpdate to the right process.
type Holder struct {
	Service  string `json:"service"`
	Provider string `json:"provider_id"`
}

// Holding is one holder's current permits, as listed by Stats and Holdings.
type Holding struct {
	Holder
	Permits int `json:"permits"`
}

// Stats is a consistent snapshot of a Pool. Counters are cumulative since New.
type Stats struct {
	Total     int `json:"total_permits"`     // configured size (broker.permits.total or Resize)
	Limit     int `json:"limit"`             // effective capacity, <= Total; lowered by the Governor
	Allocated int `json:"allocated_permits"` // held by all holders
	Available int `json:"available_permits"` // Limit - Allocated, never negative

	Requests        uint64 `json:"requests"`         // valid Request calls
	Grants          uint64 `json:"grants"`           // Request calls that got at least one permit
	Denials         uint64 `json:"denials"`          // Request calls that got none (pool exhausted)
	PermitsGranted  uint64 `json:"permits_granted"`  // sum of granted permits
	Releases        uint64 `json:"releases"`         // valid Release calls (and holders emptied by ReleaseService)
	PermitsReleased uint64 `json:"permits_released"` // sum of released permits
	Revocations     uint64 `json:"revocations"`      // holder revocations (one per holder per revoking call)
	PermitsRevoked  uint64 `json:"permits_revoked"`  // sum of revoked permits

	Holdings []Holding `json:"holdings"` // sorted by service, then provider
}

// Pool is a fixed-size pool of worker permits shared by providers.
//
// All methods are safe for concurrent use; one mutex guards the whole pool
// and is never held while calling out. Request and Release do not allocate
// once a holder exists.
type Pool struct {
	mu        sync.Mutex
	total     int
	limit     int
	allocated int
	held      map[Holder]int // holders with Permits > 0 only
	st        Stats          // counters only; the other fields are filled by Stats()
}

// New returns a pool of total permits, all free. A negative total is an
// error wrapping ErrNegativeTotal.
func New(total int) (*Pool, error) {
	if total < 0 {
		return nil, fmt.Errorf("permit: New(%d): %w", total, ErrNegativeTotal)
	}
	return &Pool{total: total, limit: total, held: make(map[Holder]int)}, nil
}

func validate(h Holder, n int) error {
	if h.Provider == "" {
		return ErrProviderRequired
	}
	if n <= 0 {
		return ErrCountNotPositive
	}
	return nil
}

// Request grants min(n, available) permits to h and returns the number
// granted and the permits still available afterwards. Granting zero because
// the pool is exhausted is not an error. Errors: ErrProviderRequired,
// ErrCountNotPositive (both unwrapped).
func (p *Pool) Request(h Holder, n int) (granted, available int, err error) {
	if err := validate(h, n); err != nil {
		return 0, 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	granted = min(n, p.freeLocked())
	p.st.Requests++
	if granted > 0 {
		p.held[h] += granted
		p.allocated += granted
		p.st.Grants++
		p.st.PermitsGranted += uint64(granted)
	} else {
		p.st.Denials++
	}
	return granted, p.freeLocked(), nil
}

// Release returns up to n of h's permits to the pool and reports how many it
// returned (never more than h holds; zero if h holds none) and the permits
// available afterwards. Errors: ErrProviderRequired, ErrCountNotPositive.
func (p *Pool) Release(h Holder, n int) (released, available int, err error) {
	if err := validate(h, n); err != nil {
		return 0, 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.Releases++
	released = p.takeLocked(h, n)
	p.st.PermitsReleased += uint64(released)
	return released, p.freeLocked(), nil
}

// ReleaseService returns every permit held by any provider of service (a
// process that died) and reports what each holder gave back.
func (p *Pool) ReleaseService(service string) map[Holder]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Holder]int)
	for h, n := range p.held {
		if h.Service != service {
			continue
		}
		out[h] = p.takeLocked(h, n)
		p.st.Releases++
		p.st.PermitsReleased += uint64(n)
	}
	return out
}

// RevokeProportional takes n permits (at most all allocated) from the holders
// in proportion to what each holds, using largest remainders so the parts
// sum to exactly min(n, allocated). It returns what each holder lost; the
// broker tells each one with RPCOnQuotaUpdate. Capacity is unchanged: the
// revoked permits become available again unless the limit is lowered too
// (SetLimit does both).
func (p *Pool) RevokeProportional(n int) map[Holder]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.revokeLocked(n)
}

// SetLimit sets the effective capacity to n, clamped to [0, Total], and
// revokes proportionally whatever is allocated beyond it. The Governor uses
// it to throttle and to restore.
func (p *Pool) SetLimit(n int) map[Holder]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limit = max(0, min(n, p.total))
	return p.revokeLocked(p.allocated - p.limit)
}

// Resize changes the configured total at run time. An unthrottled pool
// (Limit == Total) follows the new total; a throttled one keeps its lower
// limit unless it now exceeds the total. Permits allocated beyond the new
// limit are revoked proportionally and returned. A negative total is an
// error wrapping ErrNegativeTotal.
func (p *Pool) Resize(total int) (map[Holder]int, error) {
	if total < 0 {
		return nil, fmt.Errorf("permit: Resize(%d): %w", total, ErrNegativeTotal)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	throttled := p.limit < p.total
	p.total = total
	if !throttled || p.limit > total {
		p.limit = total
	}
	return p.revokeLocked(p.allocated - p.limit), nil
}

// Available reports the permits that a Request could get now.
func (p *Pool) Available() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.freeLocked()
}

// Held reports how many permits h holds.
func (p *Pool) Held(h Holder) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[h]
}

// Holdings lists every holder with at least one permit, sorted.
func (p *Pool) Holdings() []Holding {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holdingsLocked()
}

// Stats returns a snapshot of sizes, counters and holdings.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.st
	s.Total, s.Limit, s.Allocated, s.Available = p.total, p.limit, p.allocated, p.freeLocked()
	s.Holdings = p.holdingsLocked()
	return s
}

func (p *Pool) freeLocked() int { return max(0, p.limit-p.allocated) }

// takeLocked removes up to n permits from h and returns how many.
func (p *Pool) takeLocked(h Holder, n int) int {
	have := p.held[h]
	n = min(n, have)
	if n <= 0 {
		return 0
	}
	if have == n {
		delete(p.held, h)
	} else {
		p.held[h] = have - n
	}
	p.allocated -= n
	return n
}

func (p *Pool) holdingsLocked() []Holding {
	out := make([]Holding, 0, len(p.held))
	for h, n := range p.held {
		out = append(out, Holding{Holder: h, Permits: n})
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i].Holder, out[j].Holder) })
	return out
}

func less(a, b Holder) bool {
	if a.Service != b.Service {
		return a.Service < b.Service
	}
	return a.Provider < b.Provider
}

// revokeLocked takes min(n, allocated) permits proportionally (largest
// remainder; ties go to the larger holding, then to the smaller Holder).
func (p *Pool) revokeLocked(n int) map[Holder]int {
	n = min(n, p.allocated)
	out := make(map[Holder]int)
	if n <= 0 {
		return out
	}
	hs := p.holdingsLocked()
	rem := make([]int, len(hs))
	left := n
	for i, h := range hs {
		q := n * h.Permits / p.allocated
		rem[i] = n * h.Permits % p.allocated
		hs[i].Permits = q // from here on: permits to revoke from hs[i]
		left -= q
	}
	idx := make([]int, len(hs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ia, ib := idx[a], idx[b]
		if rem[ia] != rem[ib] {
			return rem[ia] > rem[ib]
		}
		return p.held[hs[ia].Holder] > p.held[hs[ib].Holder]
	})
	for _, i := range idx[:left] {
		hs[i].Permits++
	}
	for _, h := range hs {
		if h.Permits > 0 {
			out[h.Holder] = p.takeLocked(h.Holder, h.Permits)
			p.st.Revocations++
			p.st.PermitsRevoked += uint64(h.Permits)
		}
	}
	return out
}
