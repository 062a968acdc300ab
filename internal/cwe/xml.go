package cwe

import (
	"encoding/xml"
	"fmt"
	"io"

	"github.com/v2e/v2e/internal/mitrexml"
)

// Namespace is the XML namespace of the CWE catalog schema version 7.
const Namespace = "http://cwe.mitre.org/cwe-7"

// ParseXML reads a CWE XML catalog (root Weakness_Catalog) from r, one entry
// at a time, checking each as it goes. Errors wrap ErrMalformed and name the
// line and the entry: "line 812: Weakness CWE-79 Status "x" is not one of ...".
// A truncated document is an error.
func ParseXML(r io.Reader) (*Catalog, error) {
	d := xml.NewDecoder(r)
	root, err := rootElement(d)
	if err != nil {
		return nil, err
	}
	if root.Name.Local != "Weakness_Catalog" || (root.Name.Space != "" && root.Name.Space != Namespace) {
		line, _ := d.InputPos()
		return nil, fmt.Errorf("%w: line %d: root element is <%s> in namespace %q, want <Weakness_Catalog> in %q",
			ErrMalformed, line, root.Name.Local, root.Name.Space, Namespace)
	}
	c := &Catalog{Name: attr(root, "Name"), Version: attr(root, "Version"), Date: attr(root, "Date")}
	if err := readEntries(d, c); err != nil {
		return nil, err
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

// readEntries walks the children of the root, decoding each Weakness,
// Category and View and skipping everything else.
func readEntries(d *xml.Decoder, c *Catalog) error {
	depth := 1
	for depth > 0 {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err != nil {
			return syntaxErr(d, err)
		}
		switch v := tok.(type) {
		case xml.EndElement:
			depth--
		case xml.StartElement:
			if err := readEntry(d, c, v, line, &depth); err != nil {
				return err
			}
		}
	}
	return nil
}

func readEntry(d *xml.Decoder, c *Catalog, v xml.StartElement, line int, depth *int) error {
	w := where{line: line, item: -1, kind: v.Name.Local}
	switch v.Name.Local {
	case "Weaknesses", "Categories", "Views":
		*depth++
		return nil
	case "Weakness":
		var x Weakness
		if err := decode(d, &x, v, w); err != nil {
			return err
		}
		c.Weaknesses = append(c.Weaknesses, x)
		return checkWeakness(w, &c.Weaknesses[len(c.Weaknesses)-1])
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
