package cve

import (
	"fmt"
	"strings"
)

// products collects the distinct vendor/product pairs of the record's CPE
// match criteria.
func products(c *nvdCVE) ([]Product, error) {
	var out []Product
	for i, cfg := range c.Configurations {
		for j, n := range cfg.Nodes {
			for k, m := range n.CPEMatch {
				p, err := ParseCPE(m.Criteria)
				if err != nil {
					return nil, fmt.Errorf("%w: field configurations[%d].nodes[%d].cpeMatch[%d].criteria: %w", ErrInvalid, i, j, k, err)
				}
				vulnerable := m.Vulnerable == nil || *m.Vulnerable
				out = addProduct(out, p, vulnerable)
			}
		}
	}
	return out, nil
}

func addProduct(list []Product, p Product, vulnerable bool) []Product {
	for i := range list {
		if list[i].Part == p.Part && list[i].Vendor == p.Vendor && list[i].Product == p.Product {
			list[i].Vulnerable = list[i].Vulnerable || vulnerable
			return list
		}
	}
	p.Vulnerable = vulnerable
	return append(list, p)
}

// ParseCPE reads part, vendor and product from a CPE 2.3 formatted string
// ("cpe:2.3:a:apache:log4j:2.0:*:*:*:*:*:*:*"). Backslash escapes are
// removed and the values lower-cased; "*" (any) and "-" (not applicable)
// become "".
func ParseCPE(s string) (Product, error) {
	f := splitCPE(s, 6)
	if len(f) < 5 || f[0] != "cpe" || f[1] != "2.3" {
		return Product{}, fmt.Errorf("%q is not a CPE 2.3 string (cpe:2.3:part:vendor:product:...)", s)
	}
	part := f[2]
	if part != "a" && part != "o" && part != "h" && part != "*" {
		return Product{}, fmt.Errorf("%q: part %q is not a, o or h", s, part)
	}
	return Product{Part: value(part), Vendor: value(f[3]), Product: value(f[4])}, nil
}

// splitCPE splits on ':' not preceded by a backslash, into at most n fields.
func splitCPE(s string, n int) []string {
	var out []string
	start := 0
	for i := 0; i < len(s) && len(out) < n-1; i++ {
		switch s[i] {
		case '\\':
			i++
		case ':':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func value(v string) string {
	if v == "*" || v == "-" {
		return ""
	}
	if strings.IndexByte(v, '\\') >= 0 {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) {
				i++
			}
			b.WriteByte(v[i])
		}
		v = b.String()
	}
	return strings.ToLower(v)
}
