package capec

import (
	"errors"
	"strings"
	"testing"
)

func TestRealCatalogIsValid(t *testing.T) {
	doc, s, _ := load(t)
	vs, err := s.Validate(strings.NewReader(string(doc)))
	if err != nil || len(vs) != 0 {
		t.Fatalf("CAPEC 3.9 against its own schema: %v, %v", vs, err)
	}
	if s.TargetNamespace != Namespace || s.Version != "3.5" {
		t.Errorf("schema %q version %q", s.TargetNamespace, s.Version)
	}
}

func TestValidateViolations(t *testing.T) {
	good := fragment(t, 3)
	ap2 := lineOf(good, `<Attack_Pattern ID="10"`)
	rel := lineOf(good, `<Related_Attack_Pattern Nature="ChildOf" CAPEC_ID="122"/>`)
	step := lineOf(good, `<Step>1</Step>`)
	tests := []struct {
		name, doc string
		line      int
		element   string
		message   string
	}{
		{"abstraction enum", strings.Replace(good, `Abstraction="Standard"`, `Abstraction="Huge"`, 1), 11, "Attack_Pattern",
			`attribute Abstraction: "Huge" is not one of [Meta Standard Detailed]`},
		{"status enum", strings.Replace(good, `Status="Draft"`, `Status="Gone"`, 1), 11, "Attack_Pattern", `attribute Status: "Gone" is not one of`},
		{"id pattern", strings.Replace(good, `ID="1" `, `ID="x1" `, 1), 11, "Attack_Pattern", `attribute ID: "x1" is not a valid xs:integer`},
		{"duplicate id", strings.Replace(good, `ID="10" `, `ID="1" `, 1), ap2, "Attack_Pattern", `ID "1" is not unique (uniqueAttackPatternID; first at line 11)`},
		{"likelihood enum", strings.Replace(good, `<Likelihood_Of_Attack>High<`, `<Likelihood_Of_Attack>Very High<`, 1), 15, "Likelihood_Of_Attack",
			`"Very High" is not one of [High Medium Low Unknown]`},
		{"severity enum", strings.Replace(good, `<Typical_Severity>High<`, `<Typical_Severity>Critical<`, 1), 16, "Typical_Severity", `"Critical" is not one of`},
		{"missing description", good[:strings.Index(good, "<Description>")] + good[strings.Index(good, "</Description>")+len("</Description>"):], 15, "Attack_Pattern",
			"required child <Description> is missing"},
		{"unknown element", strings.Replace(good, "<Likelihood_Of_Attack>", "<Danger/><Likelihood_Of_Attack>", 1), 15, "Danger",
			"element not allowed here in <Attack_Pattern>"},
		{"out of order", strings.Replace(good, "<Typical_Severity>High</Typical_Severity>", "<Typical_Severity>High</Typical_Severity><Likelihood_Of_Attack>High</Likelihood_Of_Attack>", 1),
			16, "Likelihood_Of_Attack", "element not allowed here in <Attack_Pattern>"},
		{"too many", strings.Replace(good, "<Likelihood_Of_Attack>", "<Description>again</Description><Likelihood_Of_Attack>", 1), 15, "Description",
			"more than 1 allowed in <Attack_Pattern>"},
		{"unknown attribute", strings.Replace(good, `CAPEC_ID="122"/>`, `CAPEC_ID="122" Weight="3"/>`, 1), rel, "Related_Attack_Pattern", "attribute Weight is not allowed"},
		{"missing attribute", strings.Replace(good, `Nature="ChildOf" CAPEC_ID="122"`, `CAPEC_ID="122"`, 1), rel, "Related_Attack_Pattern", "required attribute Nature is missing"},
		{"step integer", strings.Replace(good, "<Step>1</Step>", "<Step>one</Step>", 1), step, "Step", `"one" is not a valid xs:integer`},
		{"phase enum", strings.Replace(good, "<Phase>Explore</Phase>", "<Phase>Explode</Phase>", 1), step + 1, "Phase", `"Explode" is not one of [Explore Experiment Exploit]`},
		{"stray text", strings.Replace(good, "<Related_Attack_Patterns>", "<Related_Attack_Patterns>stray", 1), 17, "Related_Attack_Patterns",
			"text is not allowed in element-only content"},
		{"foreign markup", strings.Replace(good, "<Description>In applications", `<Description><x:b xmlns:x="urn:x">In</x:b> applications`, 1), 14, "b",
			"element not allowed here in <Description>"},
		{"catalog date", strings.Replace(good, `Date="2023-01-24"`, `Date="2023-13-45"`, 1), 2, "Attack_Pattern_Catalog", `attribute Date: "2023-13-45" is not a valid xs:date`},
		{"catalog version", strings.Replace(good, `Version="3.9"`, ``, 1), 2, "Attack_Pattern_Catalog", "required attribute Version is missing"},
		{"wrong namespace", strings.Replace(good, `xmlns="http://capec.mitre.org/capec-3"`, `xmlns="http://capec.mitre.org/capec-2"`, 1), 2, "Attack_Pattern_Catalog",
			"root element is not declared"},
	}
	_, s, _ := load(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, err := s.Validate(strings.NewReader(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 {
				t.Fatalf("want 1 violation, got %d: %v", len(vs), vs)
			}
			v := vs[0]
			if v.Line != tc.line || v.Element != tc.element || !strings.Contains(v.Message, tc.message) {
				t.Errorf("got %v\nwant line %d: <%s>: %s", v, tc.line, tc.element, tc.message)
			}
		})
	}
}

func TestValidateNotWellFormed(t *testing.T) {
	_, s, _ := load(t)
	good := fragment(t, 2)
	if _, err := s.Validate(strings.NewReader(good[:len(good)-40])); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated: %v", err)
	}
	if _, err := s.Validate(strings.NewReader("")); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty: %v", err)
	}
}

func TestValidateCapsViolations(t *testing.T) {
	_, s, _ := load(t)
	doc, _, _ := load(t)
	bad := strings.ReplaceAll(string(doc), `Status="`, `Status="x`)
	bad = strings.ReplaceAll(bad, `Abstraction="`, `Abstraction="x`)
	vs, err := s.Validate(strings.NewReader(bad))
	if err != nil || len(vs) != MaxViolations+1 || !strings.Contains(vs[MaxViolations].Message, "more violations not listed") {
		t.Fatalf("%d violations, %v", len(vs), err)
	}
}

func TestLoadSchemaErrors(t *testing.T) {
	const head = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns:t="urn:t">`
	tests := []struct{ name, xsd, want string }{
		{"choice", head + "\n<xs:complexType name=\"A\"><xs:choice/></xs:complexType></xs:schema>", "line 2: xs:choice is not supported"},
		{"group", head + "<xs:group name=\"g\"/></xs:schema>", "xs:group is not supported"},
		{"undefined type", head + `<xs:element name="e" type="t:Nope"/></xs:schema>`, `type "t:Nope" is not defined`},
		{"unknown builtin", head + `<xs:element name="e" type="xs:duration"/></xs:schema>`, `type "xs:duration" is not defined`},
		{"element ref", head + `<xs:complexType name="A"><xs:sequence><xs:element ref="t:e"/></xs:sequence></xs:complexType></xs:schema>`, "ref= is not supported"},
		{"bad pattern", head + `<xs:simpleType name="s"><xs:restriction base="xs:string"><xs:pattern value="(["/></xs:restriction></xs:simpleType></xs:schema>`, "pattern"},
		{"not a schema", `<schema/>`, "want xs:schema"},
		{"malformed", head + `<xs:element`, "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSchema(strings.NewReader(tc.xsd))
			if !errors.Is(err, ErrBadSchema) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrBadSchema mentioning %q", err, tc.want)
			}
		})
	}
}

// patternSchema uses the supported constructs the CAPEC schema does not: a
// pattern facet, a derived simple type, simple content, and a complexContent
// extension with its own particles.
const patternSchema = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns:t="urn:t" elementFormDefault="qualified">
<xs:simpleType name="Id"><xs:restriction base="xs:string"><xs:pattern value="T[0-9]{4}(\.[0-9]{3})?"/></xs:restriction></xs:simpleType>
<xs:simpleType name="Short"><xs:restriction base="t:Id"><xs:enumeration value="T1059"/><xs:enumeration value="T1059.001"/></xs:restriction></xs:simpleType>
<xs:complexType name="Base"><xs:sequence><xs:element name="A" type="xs:gYear"/></xs:sequence><xs:attribute name="id" type="t:Id" use="required"/></xs:complexType>
<xs:element name="Root"><xs:complexType><xs:sequence>
 <xs:element name="Item" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:complexContent><xs:extension base="t:Base">
  <xs:sequence><xs:element name="B" minOccurs="0"><xs:complexType><xs:simpleContent><xs:extension base="t:Short"><xs:attribute name="n" type="xs:positiveInteger"/></xs:extension></xs:simpleContent></xs:complexType></xs:element></xs:sequence>
 </xs:extension></xs:complexContent></xs:complexType></xs:element>
</xs:sequence></xs:complexType></xs:element>
</xs:schema>`

func TestSchemaPatternAndExtension(t *testing.T) {
	s, err := LoadSchema(strings.NewReader(patternSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ doc, want string }{
		{`<Root xmlns="urn:t"><Item id="T1059"><A>2024</A><B n="2">T1059.001</B></Item><Item id="T1110"><A>1999</A></Item></Root>`, ""},
		{`<Root xmlns="urn:t"><Item id="1059"><A>2024</A></Item></Root>`, `attribute id: "1059" does not match the pattern of Id`},
		{`<Root xmlns="urn:t"><Item id="T1059"><A>24</A></Item></Root>`, `"24" is not a valid xs:gYear`},
		{`<Root xmlns="urn:t"><Item id="T1059"><A>2024</A><B>T1110</B></Item></Root>`, `"T1110" is not one of [T1059 T1059.001]`},
		{`<Root xmlns="urn:t"><Item id="T1059"><A>2024</A><B n="0">T1059</B></Item></Root>`, `attribute n: "0" is not a valid xs:positiveInteger`},
		{`<Root xmlns="urn:t"><Item id="T1059"><B>T1059</B></Item></Root>`, "required child <A> is missing"},
		{`<Root xmlns="urn:t"><Item id="T1059"><A>2024</A><B>T1059<A/></B></Item></Root>`, "element not allowed in the simple content of <B>"},
	}
	for _, tc := range tests {
		vs, err := s.Validate(strings.NewReader(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == "" && len(vs) != 0 || tc.want != "" && (len(vs) != 1 || !strings.Contains(vs[0].Message, tc.want)) {
			t.Errorf("%s\n got %v\nwant %q", tc.doc, vs, tc.want)
		}
	}
}

func TestLoadSchemaCycles(t *testing.T) {
	const head = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns:t="urn:t">`
	for _, xsd := range []string{
		head + `<xs:simpleType name="A"><xs:restriction base="t:B"/></xs:simpleType><xs:simpleType name="B"><xs:restriction base="t:A"/></xs:simpleType></xs:schema>`,
		head + `<xs:complexType name="A"><xs:complexContent><xs:extension base="t:B"/></xs:complexContent></xs:complexType>` +
			`<xs:complexType name="B"><xs:complexContent><xs:extension base="t:A"/></xs:complexContent></xs:complexType></xs:schema>`,
	} {
		if _, err := LoadSchema(strings.NewReader(xsd)); !errors.Is(err, ErrBadSchema) || !strings.Contains(err.Error(), "itself") {
			t.Errorf("cycle: %v", err)
		}
	}
}
