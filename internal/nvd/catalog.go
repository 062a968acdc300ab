package nvd

import (
	"encoding/json"
	"time"
)

// Catalog is an ordered, read-only set of CVE records that can answer
// CVE API queries. Feed implements it over feed files; the loopback server
// also implements it over generated records. Implementations are safe for
// concurrent reads.
type Catalog interface {
	// Len is the number of records.
	Len() int
	// ID is the CVE id of record i.
	ID(i int) string
	// Meta is the filter fields of record i.
	Meta(i int) Meta
	// AppendRaw appends record i's compact `cve` object to dst.
	AppendRaw(dst []byte, i int) []byte
	// Lookup finds the record with this CVE id.
	Lookup(id string) (int, bool)
}

// Select answers q over c: the number of records q matches and the
// indexes of those on q's page (StartIndex, at most perPage of them).
func Select(c Catalog, q Query, perPage int) (total int, page []int) {
	if q.CVEID != "" {
		i, ok := c.Lookup(q.CVEID)
		if !ok || !q.Match(c.ID(i), c.Meta(i)) {
			return 0, nil
		}
		if q.StartIndex == 0 && perPage > 0 {
			return 1, []int{i}
		}
		return 1, nil
	}
	if !q.filtered() {
		n := c.Len()
		for i := q.StartIndex; i < n && len(page) < perPage; i++ {
			page = append(page, i)
		}
		return n, page
	}
	for i := range c.Len() {
		if !q.Match("", c.Meta(i)) {
			continue
		}
		if total >= q.StartIndex && len(page) < perPage {
			page = append(page, i)
		}
		total++
	}
	return total, page
}

// PageOf builds the Page that answers q over c, as NVD would at time now.
// perPage is q.ResultsPerPage, or MaxPageSize when that is zero.
func PageOf(c Catalog, q Query, now time.Time) Page {
	perPage := q.ResultsPerPage
	if perPage <= 0 {
		perPage = MaxPageSize
	}
	total, idx := Select(c, q, perPage)
	p := Page{
		ResultsPerPage: len(idx),
		StartIndex:     q.StartIndex,
		TotalResults:   total,
		Format:         Format,
		Version:        Version,
		Timestamp:      FormatTime(now),
	}
	if len(idx) > 0 {
		p.Vulnerabilities = make([]Vulnerability, len(idx))
		for k, i := range idx {
			p.Vulnerabilities[k].CVE = json.RawMessage(c.AppendRaw(nil, i))
		}
	}
	return p
}
