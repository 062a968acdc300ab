package nvdserver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrFault is wrapped by errors for a fault spec the server cannot apply.
var ErrFault = errors.New("nvdserver: bad fault")

// Fault modes. Each makes the server answer one request the way NVD
// sometimes does.
const (
	Fault403      = "403"      // 403, as NVD throttles
	Fault429      = "429"      // 429 with Retry-After
	Fault404      = "404"      // 404, empty body, reason in the message header
	Fault502      = "502"      // 502 with an HTML page
	Fault503      = "503"      // 503 with an HTML page
	Fault504      = "504"      // 504 with an HTML page
	FaultTruncate = "truncate" // 200 whose body is cut off mid-way
	FaultNoVulns  = "novulns"  // 200 without vulnerabilities although totalResults > 0
	FaultShort    = "short"    // 200 holding half the items it should
	FaultSlow     = "slow"     // waits Delay, then answers normally
	FaultReset    = "reset"    // closes the connection with a TCP reset
)

var modes = map[string]bool{Fault403: true, Fault429: true, Fault404: true, Fault502: true,
	Fault503: true, Fault504: true, FaultTruncate: true, FaultNoVulns: true, FaultShort: true,
	FaultSlow: true, FaultReset: true}

// Fault is one injected failure, applied to the next Count matching
// requests (Count -1: every one). JSON form as taken by POST /control/faults.
type Fault struct {
	Mode       string `json:"mode"`
	Count      int    `json:"count"`                 // 0 means 1; -1 means forever
	MinPage    int    `json:"min_page,omitempty"`    // only requests whose page would hold at least this many items
	RetryAfter int    `json:"retry_after,omitempty"` // seconds, for 429 (1 when 0)
	Message    string `json:"message,omitempty"`     // for 404
	DelayMS    int    `json:"delay_ms,omitempty"`    // for slow
}

// Validate reports what is wrong with f.
func (f Fault) Validate() error {
	switch {
	case !modes[f.Mode]:
		return fmt.Errorf("%w: mode %q is unknown", ErrFault, f.Mode)
	case f.Count < -1:
		return fmt.Errorf("%w: %s: count %d must be -1 or more", ErrFault, f.Mode, f.Count)
	case f.DelayMS < 0 || f.RetryAfter < 0 || f.MinPage < 0:
		return fmt.Errorf("%w: %s: negative delay_ms, retry_after or min_page", ErrFault, f.Mode)
	}
	return nil
}

// Delay is how long a slow fault waits.
func (f Fault) Delay() time.Duration { return time.Duration(f.DelayMS) * time.Millisecond }

// ParseFaults reads the -fault flag: comma-separated mode[:count[:arg]],
// arg being retry_after seconds (429), delay_ms (slow), min_page
// (truncate, novulns, short, 5xx) or the message (404).
func ParseFaults(spec string) ([]Fault, error) {
	var out []Fault
	for item := range strings.SplitSeq(spec, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		parts := strings.SplitN(item, ":", 3)
		f := Fault{Mode: parts[0], Count: 1}
		if len(parts) > 1 {
			n, err := strconv.Atoi(parts[1])
			if err != nil {
				return nil, fmt.Errorf("%w: %q: count %q is not an integer", ErrFault, item, parts[1])
			}
			f.Count = n
		}
		if len(parts) > 2 {
			if err := f.setArg(parts[2]); err != nil {
				return nil, fmt.Errorf("%w: %q: %w", ErrFault, item, err)
			}
		}
		if err := f.Validate(); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (f *Fault) setArg(arg string) error {
	if f.Mode == Fault404 {
		f.Message = arg
		return nil
	}
	n, err := strconv.Atoi(arg)
	if err != nil {
		return fmt.Errorf("argument %q is not an integer", arg)
	}
	switch f.Mode {
	case Fault429:
		f.RetryAfter = n
	case FaultSlow:
		f.DelayMS = n
	default:
		f.MinPage = n
	}
	return nil
}

// faultQueue hands out faults in order. Safe for concurrent use.
type faultQueue struct {
	mu     sync.Mutex
	faults []Fault
}

func (q *faultQueue) add(fs ...Fault) error {
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			return err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, f := range fs {
		if f.Count == 0 {
			f.Count = 1
		}
		q.faults = append(q.faults, f)
	}
	return nil
}

func (q *faultQueue) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.faults = nil
}

// take returns the first fault that applies to a page of pageLen items
// and uses one of its counts.
func (q *faultQueue) take(pageLen int) (Fault, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, f := range q.faults {
		if pageLen < f.MinPage {
			continue
		}
		if f.Count > 0 {
			q.faults[i].Count--
			if q.faults[i].Count == 0 {
				q.faults = append(q.faults[:i], q.faults[i+1:]...)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// pending returns a copy of the queued faults.
func (q *faultQueue) pending() []Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Fault(nil), q.faults...)
}
