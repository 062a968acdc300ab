package nvd

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// QueryTimeLayout is how dates go into a query: milliseconds and an
// explicit offset, which NVD requires.
const QueryTimeLayout = "2006-01-02T15:04:05.000-07:00"

// Query is one CVE API request. Zero values mean "not set": a zero
// ResultsPerPage means the source's page size, zero times mean no range.
type Query struct {
	StartIndex     int
	ResultsPerPage int
	CVEID          string
	LastModStart   time.Time
	LastModEnd     time.Time
	PubStart       time.Time
	PubEnd         time.Time
	NoRejected     bool
}

// Messages NVD puts in the message header of a 404 for a bad query.
const (
	msgBadDate      = "Invalid ISO 8601 date/time format, see documentation."
	msgRange        = "The date range provided exceeds the maximum allowed range of 120 days."
	msgUnpaired     = "Both start and end dates are required when either is provided."
	msgStartIndex   = "Invalid startIndex parameter: must be an integer of at least 0."
	msgResults      = "Invalid resultsPerPage parameter: must be an integer between 1 and 2000."
	msgCVEID        = "Invalid cveId parameter."
	msgNoRejected   = "noRejected does not take a value."
	msgUnknownParam = "Invalid parameter: "
)

// QueryError is a parameter NVD would refuse. It wraps ErrInvalidQuery;
// Message is the text NVD puts in the 404's message header.
type QueryError struct {
	Param, Value, Message string
}

func (e *QueryError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%v: %s: %s", ErrInvalidQuery, e.Param, e.Message)
	}
	return fmt.Sprintf("%v: %s=%q: %s", ErrInvalidQuery, e.Param, e.Value, e.Message)
}

// Unwrap makes errors.Is(err, ErrInvalidQuery) true.
func (e *QueryError) Unwrap() error { return ErrInvalidQuery }

func qerr(param, value, msg string) error {
	return &QueryError{Param: param, Value: value, Message: msg}
}

// Validate reports, wrapping ErrInvalidQuery, what NVD would refuse in q.
func (q Query) Validate() error {
	switch {
	case q.StartIndex < 0:
		return qerr("startIndex", strconv.Itoa(q.StartIndex), msgStartIndex)
	case q.ResultsPerPage < 0 || q.ResultsPerPage > MaxPageSize:
		return qerr("resultsPerPage", strconv.Itoa(q.ResultsPerPage), msgResults)
	case q.CVEID != "" && !validCVEID(q.CVEID):
		return qerr("cveId", q.CVEID, msgCVEID)
	}
	if err := checkRange("lastMod", q.LastModStart, q.LastModEnd); err != nil {
		return err
	}
	return checkRange("pub", q.PubStart, q.PubEnd)
}

func checkRange(name string, start, end time.Time) error {
	switch {
	case start.IsZero() != end.IsZero():
		return qerr(name+"StartDate/"+name+"EndDate", "", msgUnpaired)
	case end.Sub(start) > MaxRange:
		return qerr(name+"StartDate/"+name+"EndDate", start.Format(QueryTimeLayout)+" to "+end.Format(QueryTimeLayout), msgRange)
	case end.Before(start):
		return qerr(name+"EndDate", end.Format(QueryTimeLayout), "The end date is before the start date.")
	}
	return nil
}

// Values encodes q as NVD query parameters (noRejected as a bare flag is
// added by RawQuery).
func (q Query) Values() url.Values {
	v := url.Values{}
	if q.CVEID != "" {
		v.Set("cveId", q.CVEID)
	}
	if !q.LastModStart.IsZero() {
		v.Set("lastModStartDate", q.LastModStart.Format(QueryTimeLayout))
		v.Set("lastModEndDate", q.LastModEnd.Format(QueryTimeLayout))
	}
	if !q.PubStart.IsZero() {
		v.Set("pubStartDate", q.PubStart.Format(QueryTimeLayout))
		v.Set("pubEndDate", q.PubEnd.Format(QueryTimeLayout))
	}
	if q.ResultsPerPage > 0 {
		v.Set("resultsPerPage", strconv.Itoa(q.ResultsPerPage))
	}
	v.Set("startIndex", strconv.Itoa(q.StartIndex))
	return v
}

// RawQuery is the URL query string for q.
func (q Query) RawQuery() string {
	s := q.Values().Encode()
	if q.NoRejected {
		s += "&noRejected"
	}
	return s
}

// knownParams are the parameters ParseQuery understands.
var knownParams = map[string]bool{
	"startIndex": true, "resultsPerPage": true, "cveId": true, "noRejected": true,
	"lastModStartDate": true, "lastModEndDate": true, "pubStartDate": true, "pubEndDate": true,
}

// ParseQuery reads the parameters of a CVE API request. Errors wrap
// ErrInvalidQuery and end with the message NVD would send.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	for k := range v {
		if !knownParams[k] {
			return q, qerr(k, "", msgUnknownParam+k)
		}
	}
	var err error
	if q.StartIndex, err = intParam(v, "startIndex", 0, msgStartIndex); err != nil {
		return q, err
	}
	if q.ResultsPerPage, err = intParam(v, "resultsPerPage", MaxPageSize, msgResults); err != nil {
		return q, err
	}
	if q.ResultsPerPage == 0 {
		return q, qerr("resultsPerPage", "0", msgResults)
	}
	q.CVEID = v.Get("cveId")
	if nr, ok := v["noRejected"]; ok {
		if len(nr) != 1 || nr[0] != "" {
			return q, qerr("noRejected", strings.Join(nr, ","), msgNoRejected)
		}
		q.NoRejected = true
	}
	dates := []struct {
		name string
		dst  *time.Time
	}{{"lastModStartDate", &q.LastModStart}, {"lastModEndDate", &q.LastModEnd},
		{"pubStartDate", &q.PubStart}, {"pubEndDate", &q.PubEnd}}
	for _, d := range dates {
		if *d.dst, err = dateParam(v, d.name); err != nil {
			return q, err
		}
	}
	return q, q.Validate()
}

func intParam(v url.Values, name string, def int, msg string) (int, error) {
	s, ok := v[name]
	if !ok {
		return def, nil
	}
	if len(s) != 1 {
		return 0, qerr(name, strings.Join(s, ","), msg)
	}
	n, err := strconv.Atoi(s[0])
	if err != nil {
		return 0, qerr(name, s[0], msg)
	}
	return n, nil
}

// dateParam reads an ISO-8601 date with an offset ("Z" or ±hh:mm).
func dateParam(v url.Values, name string) (time.Time, error) {
	s, ok := v[name]
	if !ok {
		return time.Time{}, nil
	}
	if len(s) != 1 {
		return time.Time{}, qerr(name, strings.Join(s, ","), msgBadDate)
	}
	t, err := time.Parse(time.RFC3339Nano, s[0])
	if err != nil {
		return time.Time{}, qerr(name, s[0], msgBadDate)
	}
	return t, nil
}

// Match reports whether a record with this id and meta passes q's filters
// (cveId, date ranges, noRejected). Date ranges include both ends.
func (q Query) Match(id string, m Meta) bool {
	switch {
	case q.CVEID != "" && id != q.CVEID:
		return false
	case q.NoRejected && m.Rejected:
		return false
	case !q.LastModStart.IsZero() && !within(m.LastModified, q.LastModStart, q.LastModEnd):
		return false
	case !q.PubStart.IsZero() && !within(m.Published, q.PubStart, q.PubEnd):
		return false
	}
	return true
}

// filtered reports whether q filters at all (beyond paging).
func (q Query) filtered() bool {
	return q.CVEID != "" || q.NoRejected || !q.LastModStart.IsZero() || !q.PubStart.IsZero()
}

func within(t, start, end time.Time) bool { return !t.Before(start) && !t.After(end) }

// Range is a closed time interval.
type Range struct{ Start, End time.Time }

// SplitRange cuts [start, end] into consecutive ranges of at most maxLen
// (MaxRange when maxLen <= 0). Consecutive ranges share their boundary
// instant, so no record between them is missed; a record modified exactly
// at a boundary may come twice.
func SplitRange(start, end time.Time, maxLen time.Duration) []Range {
	if maxLen <= 0 {
		maxLen = MaxRange
	}
	var out []Range
	for s := start; ; {
		e := s.Add(maxLen)
		if !e.Before(end) {
			return append(out, Range{s, end})
		}
		out = append(out, Range{s, e})
		s = e
	}
}
