package capec

import (
	"encoding/xml"
	"strings"
)

// Text is the plain-text form of a structured-text element: the catalog's
// XHTML markup is dropped, block elements become line breaks and runs of
// spaces collapse. (internal/cwe has the same rule; the domain packages do not
// import each other.)
type Text string

// UnmarshalXML flattens the element's mixed content.
func (t *Text) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	s, err := flatten(d)
	*t = Text(s)
	return err
}

var blockElements = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "ul": true, "ol": true, "tr": true,
	"table": true, "pre": true, "h1": true, "h2": true, "h3": true, "h4": true, "blockquote": true,
}

// flatten reads the content of the element whose start was just consumed up to
// and including its end, and returns its text.
func flatten(d *xml.Decoder) (string, error) {
	var b strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch v := tok.(type) {
		case xml.CharData:
			b.Write(v)
		case xml.StartElement:
			depth++
			if blockElements[v.Name.Local] {
				b.WriteByte('\n')
			}
		case xml.EndElement:
			if depth == 0 {
				return normalise(b.String()), nil
			}
			depth--
			if blockElements[v.Name.Local] {
				b.WriteByte('\n')
			}
		}
	}
}

func normalise(s string) string {
	if !strings.ContainsAny(s, "\n\t\r") && !strings.Contains(s, "  ") {
		return strings.TrimSpace(s)
	}
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, strings.Join(f, " "))
		}
	}
	return strings.Join(out, "\n")
}

func attr(start xml.StartElement, name string) string {
	for _, a := range start.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// WeaknessRef is the id of a CWE weakness an attack pattern exploits,
// "CWE-<n>" once normalised.
type WeaknessRef string

// UnmarshalXML reads <Related_Weakness CWE_ID="n"/>.
func (r *WeaknessRef) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*r = WeaknessRef(attr(start, "CWE_ID"))
	return d.Skip()
}

// UnmarshalXML reads <Note Type="...">text</Note>.
func (n *Note) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	n.Type = attr(start, "Type")
	var err error
	n.Note, err = flatten(d)
	return err
}

// UnmarshalXML reads <Skill Level="...">text</Skill>.
func (s *Skill) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	s.Level = attr(start, "Level")
	var err error
	s.Description, err = flatten(d)
	return err
}
