package nvdserver

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/v2e/v2e/internal/nvd"
)

// ErrScale is wrapped by errors building a Scale catalog.
var ErrScale = errors.New("nvdserver: cannot build scale catalog")

// firstSeq is the sequence number of generated record 0; ids are
// CVE-YYYY-NNNNNNN with N = firstSeq + index, so they never collide.
const firstSeq = 1_000_000

// maxShift is how far back generated dates may move from their model's.
const maxShift = 20 * 365 * 24 * time.Hour

// Scale is a Catalog of n records generated from real ones: record i is
// real record i mod len(base) with a new id (CVE-YYYY-NNNNNNN, YYYY the
// new published year) and its published and lastModified dates moved back
// by the same seeded pseudo-random amount. Everything else is the real
// record's bytes. Records are assembled on demand from one template per
// real record, so memory does not grow with n.
type Scale struct {
	tmpls []template
	n     int
	seed  uint64
}

// template is a real record cut around its id, published and lastModified
// values, which are the only bytes a generated record changes.
type template struct {
	raw  []byte
	cuts [3][2]int // byte ranges of the id, published, lastModified values, in raw order
	kind [3]int    // which value each cut holds: 0 id, 1 published, 2 lastModified
	meta nvd.Meta
}

// NewScale builds n records from base with a seed. Real records whose id
// or dates cannot be located exactly once are not used as models.
func NewScale(base []nvd.Record, n int, seed uint64) (*Scale, error) {
	if n < 0 || n > 8_999_999 {
		return nil, fmt.Errorf("%w: %d records: must be between 0 and 8999999", ErrScale, n)
	}
	s := &Scale{n: n, seed: seed}
	for _, r := range base {
		if t, ok := cut(r); ok {
			s.tmpls = append(s.tmpls, t)
		}
	}
	if len(s.tmpls) == 0 && n > 0 {
		return nil, fmt.Errorf("%w: none of %d real records can serve as a model", ErrScale, len(base))
	}
	return s, nil
}

func cut(r nvd.Record) (template, bool) {
	t := template{raw: r.Raw, meta: r.Meta}
	vals := []string{r.ID, nvd.FormatTime(r.Published), nvd.FormatTime(r.LastModified)}
	keys := []string{"id", "published", "lastModified"}
	for k := range keys {
		pat := []byte(`"` + keys[k] + `":"`)
		at := bytes.Index(r.Raw, pat)
		if at < 0 || bytes.Count(r.Raw, pat) != 1 {
			return t, false
		}
		start := at + len(pat)
		end := bytes.IndexByte(r.Raw[start:], '"')
		if end < 0 || (k == 0 && string(r.Raw[start:start+end]) != vals[0]) {
			return t, false
		}
		t.cuts[k], t.kind[k] = [2]int{start, start + end}, k
	}
	for i := 1; i < 3; i++ { // sort the three cuts by position
		for j := i; j > 0 && t.cuts[j][0] < t.cuts[j-1][0]; j-- {
			t.cuts[j], t.cuts[j-1] = t.cuts[j-1], t.cuts[j]
			t.kind[j], t.kind[j-1] = t.kind[j-1], t.kind[j]
		}
	}
	return t, true
}

// splitmix64 is a fixed, well-mixed hash for seeded shifts.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (s *Scale) shift(i int) time.Duration {
	ms := splitmix64(s.seed^uint64(i)) % uint64(maxShift/time.Millisecond)
	return time.Duration(ms) * time.Millisecond
}

// Len implements nvd.Catalog.
func (s *Scale) Len() int { return s.n }

// Meta implements nvd.Catalog.
func (s *Scale) Meta(i int) nvd.Meta {
	m := s.tmpls[i%len(s.tmpls)].meta
	d := s.shift(i)
	m.Published, m.LastModified = m.Published.Add(-d), m.LastModified.Add(-d)
	return m
}

// ID implements nvd.Catalog.
func (s *Scale) ID(i int) string {
	return string(s.appendID(nil, i))
}

func (s *Scale) appendID(dst []byte, i int) []byte {
	dst = append(dst, "CVE-"...)
	dst = strconv.AppendInt(dst, int64(s.Meta(i).Published.Year()), 10)
	dst = append(dst, '-')
	return strconv.AppendInt(dst, int64(firstSeq+i), 10)
}

// Lookup implements nvd.Catalog.
func (s *Scale) Lookup(id string) (int, bool) {
	_, seq, ok := strings.Cut(strings.TrimPrefix(id, "CVE-"), "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(seq)
	i := n - firstSeq
	if err != nil || i < 0 || i >= s.n || s.ID(i) != id {
		return 0, false
	}
	return i, true
}

// AppendRaw implements nvd.Catalog.
func (s *Scale) AppendRaw(dst []byte, i int) []byte {
	t := &s.tmpls[i%len(s.tmpls)]
	m := s.Meta(i)
	prev := 0
	for k, c := range t.cuts {
		dst = append(dst, t.raw[prev:c[0]]...)
		switch t.kind[k] {
		case 0:
			dst = s.appendID(dst, i)
		case 1:
			dst = m.Published.AppendFormat(dst, nvd.TimeLayout)
		case 2:
			dst = m.LastModified.AppendFormat(dst, nvd.TimeLayout)
		}
		prev = c[1]
	}
	return append(dst, t.raw[prev:]...)
}
