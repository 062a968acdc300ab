package capec

import (
	"encoding/xml"

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
