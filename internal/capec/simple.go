package capec

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

var (
	integerRE = regexp.MustCompile(`^[+-]?[0-9]+$`)
	decimalRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
	tzRE      = `(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?`
	dateRE    = regexp.MustCompile(`^-?([0-9]{4,})-([0-9]{2})-([0-9]{2})` + tzRE + `$`)
	gYearRE   = regexp.MustCompile(`^-?[0-9]{4,}` + tzRE + `$`)
	gMonthRE  = regexp.MustCompile(`^--(0[1-9]|1[0-2])` + tzRE + `$`)
	gDayRE    = regexp.MustCompile(`^---(0[1-9]|[12][0-9]|3[01])` + tzRE + `$`)
)

// check returns what is wrong with v as a value of st, or "".
func (st *simpleType) check(v string) string {
	if st.builtin != "" {
		return checkBuiltin(st.builtin, v)
	}
	if st.parent != nil {
		if p := st.parent.check(v); p != "" {
			return p
		}
	}
	if !st.stringLike() {
		v = strings.TrimSpace(v)
	}
	if len(st.enums) > 0 && !containsStr(st.enums, v) {
		return fmt.Sprintf("%q is not one of %v", v, st.enums)
	}
	if len(st.patterns) > 0 {
		for _, re := range st.patterns {
			if re.MatchString(v) {
				return ""
			}
		}
		return fmt.Sprintf("%q does not match the pattern of %s", v, st.label())
	}
	return ""
}

// stringLike reports whether the type keeps whitespace (derives from xs:string).
func (st *simpleType) stringLike() bool {
	for t := st; t != nil; t = t.parent {
		if t.builtin != "" {
			return t.builtin == "string" || t.builtin == "anySimpleType"
		}
	}
	return true
}

func (st *simpleType) label() string {
	if st.name != "" {
		return st.name
	}
	return "its type"
}

func containsStr(xs []string, v string) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

// checkBuiltin checks v against the lexical space of a built-in type.
func checkBuiltin(name, v string) string {
	t := strings.TrimSpace(v) // every built-in but xs:string collapses whitespace
	ok := true
	switch name {
	case "string", "anySimpleType", "normalizedString", "token":
	case "anyURI":
		_, err := url.Parse(t)
		ok = err == nil
	case "integer", "int":
		ok = integerRE.MatchString(t)
	case "nonNegativeInteger":
		ok = integerRE.MatchString(t) && !strings.HasPrefix(t, "-")
	case "positiveInteger":
		ok = integerRE.MatchString(t) && !strings.HasPrefix(t, "-") && strings.Trim(t, "+0") != ""
	case "decimal":
		ok = decimalRE.MatchString(t)
	case "boolean":
		ok = t == "true" || t == "false" || t == "1" || t == "0"
	case "date":
		ok = validDate(t)
	case "dateTime":
		_, err := time.Parse("2006-01-02T15:04:05Z07:00", t)
		if err != nil {
			_, err = time.Parse("2006-01-02T15:04:05", t)
		}
		ok = err == nil
	case "gYear":
		ok = gYearRE.MatchString(t)
	case "gMonth":
		ok = gMonthRE.MatchString(t)
	case "gDay":
		ok = gDayRE.MatchString(t)
	}
	if !ok {
		return fmt.Sprintf("%q is not a valid xs:%s", v, name)
	}
	return ""
}

func validDate(t string) bool {
	m := dateRE.FindStringSubmatch(t)
	if m == nil {
		return false
	}
	_, err := time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[3])
	return err == nil || len(m[1]) > 4
}
