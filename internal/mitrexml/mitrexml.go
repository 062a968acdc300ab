// Package mitrexml reads the parts of MITRE's CWE and CAPEC XML catalogs
// that both share: structured text (XHTML mixed content, flattened to plain
// text) and attributes. It imports only the standard library.
package mitrexml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Text is the plain-text form of a structured-text element: the catalog's
// XHTML markup is dropped, block elements become line breaks and runs of
// spaces collapse.
type Text string

// UnmarshalXML flattens the element's mixed content.
func (t *Text) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	s, err := Flatten(d)
	*t = Text(s)
	return err
}

// blockElements end a line when flattening XHTML.
var blockElements = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "ul": true, "ol": true, "tr": true,
	"table": true, "pre": true, "h1": true, "h2": true, "h3": true, "h4": true, "blockquote": true,
}

// Flatten reads the content of the element whose start was just consumed up to
// and including its end, and returns its text.
func Flatten(d *xml.Decoder) (string, error) {
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

// Attr returns the value of the named attribute of start.
func Attr(start xml.StartElement, name string) string {
	for _, a := range start.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// LineError wraps a decoder error in malformed (the catalog package's
// sentinel) with the line it happened on: the syntax error's own line, or the
// decoder's position for a cut-off file.
func LineError(d *xml.Decoder, err, malformed error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: line %d: %s", malformed, se.Line, se.Msg)
	}
	line, _ := d.InputPos()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: line %d: unexpected end of file", malformed, line)
	}
	return fmt.Errorf("%w: line %d: %w", malformed, line, err)
}

// DecodeEntry decodes the element that start opens into x. A broken or cut-off
// file gives LineError; any other decoding error is returned as it is, for
// the caller to name the entry.
func DecodeEntry(d *xml.Decoder, x any, start xml.StartElement, malformed error) (syntax bool, err error) {
	err = d.DecodeElement(x, &start)
	if err == nil {
		return false, nil
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true, LineError(d, err, malformed)
	}
	return false, err
}
