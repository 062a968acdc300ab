package cwe

import (
	"encoding/xml"
	"strings"

	"github.com/v2e/v2e/internal/mitrexml"
)

// Text is the plain-text form of a structured-text element (see
// internal/mitrexml, shared with the other catalog).
type Text = mitrexml.Text

// flatten and attr read structured text and attributes (internal/mitrexml).
var (
	flatten = mitrexml.Flatten
	attr    = mitrexml.Attr
)

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
