package capec

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/v2e/v2e/internal/mitrexml"
)

// Namespace is the XML namespace of the CAPEC catalog schema version 3.
const Namespace = "http://capec.mitre.org/capec-3"

// Header is what the root element Attack_Pattern_Catalog says of the catalog.
type Header struct {
	Name, Version, Date string
}

// ReadHeader reads only the root element's attributes.
func ReadHeader(r io.Reader) (Header, error) {
	d := xml.NewDecoder(r)
	root, err := rootElement(d)
	if err != nil {
		return Header{}, err
	}
	return header(d, root)
}

func header(d *xml.Decoder, root xml.StartElement) (Header, error) {
	line, _ := d.InputPos()
	if root.Name.Local != "Attack_Pattern_Catalog" || (root.Name.Space != "" && root.Name.Space != Namespace) {
		return Header{}, fmt.Errorf("%w: line %d: root element is <%s> in namespace %q, want <Attack_Pattern_Catalog> in %q",
			ErrMalformed, line, root.Name.Local, root.Name.Space, Namespace)
	}
	h := Header{Name: attr(root, "Name"), Version: attr(root, "Version"), Date: attr(root, "Date")}
	if h.Version == "" {
		return h, fmt.Errorf("%w: line %d: Attack_Pattern_Catalog has no Version", ErrMalformed, line)
	}
	return h, nil
}

// Parse reads a CAPEC XML catalog from r one entry at a time, checking each
// as it goes. Errors wrap ErrMalformed and name line and entry. Parse does not
// apply the XSD; see Schema.Validate.
func Parse(r io.Reader) (*Catalog, error) {
	d := xml.NewDecoder(r)
	root, err := rootElement(d)
	if err != nil {
		return nil, err
	}
	h, err := header(d, root)
	if err != nil {
		return nil, err
	}
	c := &Catalog{Name: h.Name, Version: h.Version, Date: h.Date}
	for depth := 1; depth > 0; {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err != nil {
			return nil, syntaxErr(d, err)
		}
		switch v := tok.(type) {
		case xml.EndElement:
			depth--
		case xml.StartElement:
			if err := readEntry(d, c, v, line, &depth); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

func rootElement(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, syntaxErr(d, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, nil
		}
	}
}

func readEntry(d *xml.Decoder, c *Catalog, v xml.StartElement, line int, depth *int) error {
	w := where{line: line, kind: v.Name.Local}
	switch v.Name.Local {
	case "Attack_Patterns", "Categories", "Views":
		*depth++
		return nil
	case "Attack_Pattern":
		var x AttackPattern
		if err := decode(d, &x, v, w); err != nil {
			return err
		}
		c.AttackPatterns = append(c.AttackPatterns, x)
		return checkAttackPattern(w, &c.AttackPatterns[len(c.AttackPatterns)-1])
	case "Category":
		var x Category
		if err := decode(d, &x, v, w); err != nil {
			return err
		}
		c.Categories = append(c.Categories, x)
		return checkCategory(w, &c.Categories[len(c.Categories)-1])
	case "View":
		var x View
		if err := decode(d, &x, v, w); err != nil {
			return err
		}
		c.Views = append(c.Views, x)
		return checkView(w, &c.Views[len(c.Views)-1])
	default:
		if err := d.Skip(); err != nil {
			return syntaxErr(d, err)
		}
		return nil
	}
}

func decode(d *xml.Decoder, x any, start xml.StartElement, w where) error {
	syntax, err := mitrexml.DecodeEntry(d, x, start, ErrMalformed)
	if syntax || err == nil {
		return err
	}
	return w.errorf("%q: %v", attr(start, "ID"), err)
}

// syntaxErr wraps a decoder error with its line.
func syntaxErr(d *xml.Decoder, err error) error { return mitrexml.LineError(d, err, ErrMalformed) }

// where locates an entry for error messages.
type where struct {
	line int
	kind string
}

func (w where) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s %s", ErrMalformed, w.line, w.kind, fmt.Sprintf(format, args...))
}

func (w where) normID(field, v string) (string, error) {
	n, err := ParseID(v)
	if err != nil {
		return "", w.errorf("%s %q is not a CAPEC id", field, v)
	}
	return FormatID(n), nil
}

func (w where) nonEmpty(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return w.errorf("%s is empty", field)
	}
	return nil
}

var statuses = []string{"Deprecated", "Draft", "Incomplete", "Obsolete", "Stable", "Usable"}

func (w where) status(v string) error {
	if !slices.Contains(statuses, v) {
		return w.errorf("Status %q is not one of %v", v, statuses)
	}
	return nil
}

func checkAttackPattern(w where, x *AttackPattern) error {
	x.Kind = KindAttackPattern
	id, err := w.normID("ID", x.ID)
	if err != nil {
		return err
	}
	x.ID, w.kind = id, "Attack_Pattern "+id
	if err := w.nonEmpty("Name", x.Name); err != nil {
		return err
	}
	if err := w.status(x.Status); err != nil {
		return err
	}
	for i := range x.RelatedAttackPatterns {
		r := &x.RelatedAttackPatterns[i]
		if r.CAPECID, err = w.normID("Related_Attack_Pattern CAPEC_ID", r.CAPECID); err != nil {
			return err
		}
	}
	for i, ref := range x.RelatedWeaknesses {
		n, err := ParseID(string(ref)) // same number syntax as CAPEC ids
		if err != nil || strings.Contains(strings.ToUpper(string(ref)), "CAPEC") {
			return w.errorf("Related_Weakness CWE_ID %q is not a CWE id", string(ref))
		}
		x.RelatedWeaknesses[i] = WeaknessRef(fmt.Sprintf("CWE-%d", n))
	}
	for _, m := range x.TaxonomyMappings {
		if m.TaxonomyName != "ATTACK" {
			continue
		}
		t, err := TechniqueID(m.EntryID)
		if err != nil {
			return w.errorf("Taxonomy_Mapping ATTACK Entry_ID: %v", err)
		}
		if !slices.Contains(x.AttackTechniques, t) {
			x.AttackTechniques = append(x.AttackTechniques, t)
		}
	}
	return nil
}

func checkCategory(w where, c *Category) error {
	c.Kind = KindCategory
	id, err := w.normID("ID", c.ID)
	if err != nil {
		return err
	}
	c.ID, w.kind = id, "Category "+id
	if err := firstErr(w.nonEmpty("Name", c.Name), w.status(c.Status)); err != nil {
		return err
	}
	return checkMembers(w, c.Members)
}

func checkView(w where, v *View) error {
	v.Kind = KindView
	id, err := w.normID("ID", v.ID)
	if err != nil {
		return err
	}
	v.ID, w.kind = id, "View "+id
	if err := firstErr(w.nonEmpty("Name", v.Name), w.status(v.Status)); err != nil {
		return err
	}
	return checkMembers(w, v.Members)
}

func checkMembers(w where, ms []Member) error {
	var err error
	for i := range ms {
		if ms[i].CAPECID, err = w.normID("Has_Member CAPEC_ID", ms[i].CAPECID); err != nil {
			return err
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
