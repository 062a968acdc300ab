package mitrexml

import (
	"encoding/xml"
	"strings"
	"testing"
)

// A structured-text element as the CWE catalog writes it (Extended_Description
// of CWE-79), with XHTML blocks, inline markup and indentation.
func TestTextFlattensXHTML(t *testing.T) {
	const in = `<Extended_Description xmlns:xhtml="http://www.w3.org/1999/xhtml">
		<xhtml:p>Cross-site scripting (XSS) vulnerabilities occur when:</xhtml:p>
		<xhtml:ol>
			<xhtml:li>Untrusted data enters a web application, typically from a web request.</xhtml:li>
			<xhtml:li>The web application   dynamically generates a <xhtml:b>web page</xhtml:b> that contains this untrusted data.</xhtml:li>
		</xhtml:ol></Extended_Description>`
	var v struct {
		Text Text `xml:"Extended_Description"`
	}
	if err := xml.Unmarshal([]byte("<r>"+in+"</r>"), &v); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"Cross-site scripting (XSS) vulnerabilities occur when:",
		"Untrusted data enters a web application, typically from a web request.",
		"The web application dynamically generates a web page that contains this untrusted data.",
	}, "\n")
	if string(v.Text) != want {
		t.Fatalf("got %q\nwant %q", v.Text, want)
	}
}

func TestFlattenReportsTruncation(t *testing.T) {
	d := xml.NewDecoder(strings.NewReader(`<a><p>cut`))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	if _, err := Flatten(d); err == nil {
		t.Fatal("a truncated element must be an error")
	}
}

func TestAttr(t *testing.T) {
	start := xml.StartElement{Attr: []xml.Attr{{Name: xml.Name{Local: "CWE_ID"}, Value: "79"}}}
	if Attr(start, "CWE_ID") != "79" || Attr(start, "Nature") != "" {
		t.Fatal(Attr(start, "CWE_ID"))
	}
}
