package cwe

import (
	"fmt"
	"slices"
)

// Values the cwe-7 schema allows for the enumerated attributes we import.
var (
	abstractions = []string{"Pillar", "Class", "Base", "Variant", "Compound"}
	structures   = []string{"Simple", "Chain", "Composite"}
	statuses     = []string{"Deprecated", "Draft", "Incomplete", "Obsolete", "Stable", "Usable"}
	viewTypes    = []string{"Implicit", "Explicit", "Graph"}
	// Natures is every relationship nature: the catalog's own and their inverses.
	Natures = []string{"ChildOf", "ParentOf", "StartsWith", "CanFollow", "CanPrecede",
		"RequiredBy", "Requires", "CanAlsoBe", "PeerOf", "MemberOf", "HasMember"}
	// catalogNatures are the natures a Related_Weakness may carry.
	catalogNatures = []string{"ChildOf", "ParentOf", "StartsWith", "CanFollow", "CanPrecede",
		"RequiredBy", "Requires", "CanAlsoBe", "PeerOf"}
)

// where locates an entry in its input for error messages.
type where struct {
	line int    // 1-based line of the entry's start, 0 if unknown
	item int    // 0-based array index for JSON, -1 for XML
	kind string // "Weakness", "Category", "View"
}

func (w where) errorf(format string, args ...any) error {
	loc := ""
	if w.line > 0 {
		loc = fmt.Sprintf("line %d: ", w.line)
	}
	if w.item >= 0 {
		loc += fmt.Sprintf("item %d: ", w.item)
	}
	return fmt.Errorf("%w: %s%s %s", ErrMalformed, loc, w.kind, fmt.Sprintf(format, args...))
}

// normID checks a numeric id field and returns its "CWE-<n>" form.
func (w where) normID(field, v string) (string, error) {
	n, err := ParseID(v)
	if err != nil {
		return "", w.errorf("%s %q is not a CWE id", field, v)
	}
	return FormatID(n), nil
}

func (w where) oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return w.errorf("%s %q is not one of %v", field, v, allowed)
	}
	return nil
}

func (w where) required(field, v string) error {
	if v == "" {
		return w.errorf("%s is empty", field)
	}
	return nil
}

// checkWeakness validates x and normalises its identifiers in place.
func checkWeakness(w where, x *Weakness) error {
	x.Kind = KindWeakness
	id, err := w.normID("ID", x.ID)
	if err != nil {
		return err
	}
	x.ID = id
	w.kind = "Weakness " + id
	if err := firstErr(w.required("Name", x.Name), w.oneOf("Abstraction", x.Abstraction, abstractions),
		w.oneOf("Structure", x.Structure, structures), w.oneOf("Status", x.Status, statuses),
		w.required("Description", string(x.Description))); err != nil {
		return err
	}
	for i := range x.RelatedWeaknesses {
		r := &x.RelatedWeaknesses[i]
		if err := w.oneOf("Related_Weakness Nature", r.Nature, catalogNatures); err != nil {
			return err
		}
		if r.CWEID, err = w.normID("Related_Weakness CWE_ID", r.CWEID); err != nil {
			return err
		}
		if r.ViewID, err = w.normID("Related_Weakness View_ID", r.ViewID); err != nil {
			return err
		}
	}
	for i, ref := range x.RelatedAttackPatterns {
		n, err := ParseCAPECID(string(ref))
		if err != nil {
			return w.errorf("Related_Attack_Pattern CAPEC_ID %q is not a CAPEC id", string(ref))
		}
		x.RelatedAttackPatterns[i] = AttackPatternRef(fmt.Sprintf("CAPEC-%d", n))
	}
	return nil
}

// checkCategory validates c and normalises its identifiers in place.
func checkCategory(w where, c *Category) error {
	c.Kind = KindCategory
	id, err := w.normID("ID", c.ID)
	if err != nil {
		return err
	}
	c.ID = id
	w.kind = "Category " + id
	if err := firstErr(w.required("Name", c.Name), w.oneOf("Status", c.Status, statuses)); err != nil {
		return err
	}
	return checkMembers(w, c.Members)
}

// CheckView validates v (a catalog view or one saved by a client) and
// normalises its identifiers in place. Errors wrap ErrMalformed.
func CheckView(v *View) error { return checkView(where{item: -1, kind: "View"}, v) }

func checkView(w where, v *View) error {
	id, err := w.normID("ID", v.ID)
	if err != nil {
		return err
	}
	v.ID = id
	w.kind = "View " + id
	if err := firstErr(w.required("Name", v.Name), w.oneOf("Type", v.Type, viewTypes),
		w.oneOf("Status", v.Status, statuses)); err != nil {
		return err
	}
	return checkMembers(w, v.Members)
}

func checkMembers(w where, members []Member) error {
	var err error
	for i := range members {
		m := &members[i]
		if m.CWEID, err = w.normID("Has_Member CWE_ID", m.CWEID); err != nil {
			return err
		}
		if m.ViewID != "" {
			if m.ViewID, err = w.normID("Has_Member View_ID", m.ViewID); err != nil {
				return err
			}
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
