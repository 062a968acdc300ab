package cwe

import (
	"encoding/xml"
	"strings"
)

// Text is the plain-text form of a structured-text element: the catalog's
// XHTML markup is dropped, block elements become line breaks and runs of
// spaces collapse.
type Text string

// UnmarshalXML flattens the element's mixed content.
func (t *Text) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	s, err := flatten(d)
	*t = Text(s)
	return err
}

// blockElements end a line when flattening XHTML.
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

// normalise trims every line, collapses inner runs of blanks and drops empty lines.
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

// attr returns the value of the named attribute of start.
func attr(start xml.StartElement, name string) string {
	for _, a := range start.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// AttackPatternRef is the id of a CAPEC attack pattern linked to a weakness,
// "CAPEC-<n>" once normalised.
type AttackPatternRef string

// UnmarshalXML reads <Related_Attack_Pattern CAPEC_ID="n"/>.
func (r *AttackPatternRef) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*r = AttackPatternRef(attr(start, "CAPEC_ID"))
	return d.Skip()
}

// Reason is why an entry may or may not be used for mapping.
type Reason string

// UnmarshalXML reads <Reason Type="..."/>.
func (r *Reason) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*r = Reason(attr(start, "Type"))
	return d.Skip()
}

// UnmarshalXML reads <Note Type="...">text</Note>.
func (n *Note) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	n.Type = attr(start, "Type")
	var err error
	n.Note, err = flatten(d)
	return err
}

// Platforms lists applicable platforms.
type Platforms []Platform

// UnmarshalXML reads <Applicable_Platforms>, whose children are named by
// platform type (Language, Operating_System, Architecture, Technology).
func (p *Platforms) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case xml.StartElement:
			*p = append(*p, Platform{Type: v.Name.Local, Name: attr(v, "Name"),
				Class: attr(v, "Class"), Prevalence: attr(v, "Prevalence")})
			if err := d.Skip(); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// UnmarshalXML reads a <Demonstrative_Example>, keeping its parts in order.
func (e *DemonstrativeExample) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	e.ID = attr(start, "Demonstrative_Example_ID")
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case xml.StartElement:
			entry, err := exampleEntry(d, v)
			if err != nil {
				return err
			}
			if entry != (ExampleEntry{}) {
				e.Entries = append(e.Entries, entry)
			}
		case xml.EndElement:
			return nil
		}
	}
}

func exampleEntry(d *xml.Decoder, v xml.StartElement) (ExampleEntry, error) {
	var entry ExampleEntry
	if v.Name.Local == "References" {
		var refs struct {
			Reference []Reference `xml:"Reference"`
		}
		if err := d.DecodeElement(&refs, &v); err != nil {
			return entry, err
		}
		ids := make([]string, len(refs.Reference))
		for i, r := range refs.Reference {
			ids[i] = r.ExternalReferenceID
		}
		entry.Reference = strings.Join(ids, ", ")
		return entry, nil
	}
	text, err := flatten(d)
	if err != nil {
		return entry, err
	}
	switch v.Name.Local {
	case "Intro_Text":
		entry.IntroText = text
	case "Body_Text":
		entry.BodyText = text
	case "Example_Code":
		entry.Nature, entry.Language, entry.ExampleCode = attr(v, "Nature"), attr(v, "Language"), text
	}
	return entry, nil
}
