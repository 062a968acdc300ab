package cve

import (
	"fmt"
	"strings"
)

// scores picks one metric per CVSS version (Primary first) and validates it.
func scores(c *nvdCVE) ([]Score, error) {
	var out []Score
	for _, v := range []struct {
		version, field string
		list           []metric
	}{
		{V40, "cvssMetricV40", c.Metrics.V40},
		{V31, "cvssMetricV31", c.Metrics.V31},
		{V30, "cvssMetricV30", c.Metrics.V30},
		{V2, "cvssMetricV2", c.Metrics.V2},
	} {
		i := pick(v.list)
		if i < 0 {
			continue
		}
		s, err := score(v.version, v.list[i])
		if err != nil {
			return nil, fmt.Errorf("%w: field metrics.%s[%d].%w", ErrInvalid, v.field, i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// pick returns the index of the Primary metric, else the first with a score,
// else -1.
func pick(list []metric) int {
	first := -1
	for i := range list {
		if list[i].CVSSData.BaseScore == nil {
			continue
		}
		if strings.EqualFold(list[i].Type, "Primary") {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

var severities = map[string]bool{"NONE": true, "LOW": true, "MEDIUM": true, "HIGH": true, "CRITICAL": true}

func score(version string, m metric) (Score, error) {
	base := *m.CVSSData.BaseScore
	if base < 0 || base > 10 {
		return Score{}, fmt.Errorf("cvssData.baseScore: %v is outside 0..10", base)
	}
	sev := m.CVSSData.BaseSeverity
	if version == V2 {
		sev = m.BaseSeverity
	}
	sev = strings.ToUpper(sev)
	if sev == "" {
		sev = SeverityOf(version, base)
	}
	if !severities[sev] {
		return Score{}, fmt.Errorf("baseSeverity: %q is not NONE, LOW, MEDIUM, HIGH or CRITICAL", sev)
	}
	return Score{
		Version:  version,
		Base:     base,
		Severity: sev,
		Vector:   m.CVSSData.VectorString,
		Source:   m.Source,
		Primary:  strings.EqualFold(m.Type, "Primary"),
	}, nil
}

// SeverityOf is the qualitative rating of a base score in a CVSS version
// (v2: LOW < 4, MEDIUM < 7, HIGH; v3/v4: NONE 0, LOW < 4, MEDIUM < 7,
// HIGH < 9, CRITICAL).
func SeverityOf(version string, base float64) string {
	switch {
	case version == V2 && base < 4:
		return "LOW"
	case version == V2 && base < 7:
		return "MEDIUM"
	case version == V2:
		return "HIGH"
	case base == 0:
		return "NONE"
	case base < 4:
		return "LOW"
	case base < 7:
		return "MEDIUM"
	case base < 9:
		return "HIGH"
	}
	return "CRITICAL"
}
