package capec

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"testing"
)

var annotationRE = regexp.MustCompile(`(?s)<xs:annotation>.*?</xs:annotation>|<!--.*?-->`)

func withoutAnnotations(xsd []byte) []byte {
	return annotationRE.ReplaceAll(xsd, nil)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(fragment(f, 1)))
	f.Add([]byte(`<Attack_Pattern_Catalog xmlns="http://capec.mitre.org/capec-3" Name="CAPEC" Version="3.9" Date="2023-01-24"><Categories><Category ID="118" Name="Collect and Analyze Information" Status="Stable"><Summary>s</Summary><Relationships><Has_Member CAPEC_ID="116"/></Relationships></Category></Categories></Attack_Pattern_Catalog>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := Parse(bytes.NewReader(doc))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		for _, a := range c.AttackPatterns {
			if _, err := ParseID(a.ID); err != nil || a.Name == "" {
				t.Fatalf("accepted attack pattern with bad id or name: %+v", a)
			}
			for _, tid := range a.AttackTechniques {
				if _, err := TechniqueID(tid); err != nil {
					t.Fatalf("bad technique %q", tid)
				}
			}
		}
	})
}

func FuzzValidate(f *testing.F) {
	_, s := loadDoc(f)
	f.Add([]byte(fragment(f, 1)))
	f.Fuzz(func(t *testing.T, doc []byte) {
		vs, err := s.Validate(bytes.NewReader(doc))
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		if len(vs) > MaxViolations+1 {
			t.Fatalf("%d violations exceed the cap", len(vs))
		}
	})
}

func FuzzLoadSchema(f *testing.F) {
	xsd, err := os.ReadFile(schemaPath)
	if err != nil {
		f.Fatal(err)
	}
	// The real schema's enumerations and the types using them, without the
	// documentation that makes up most of its bytes (a 51 kB seed starves
	// the coverage-guided fuzzer).
	f.Add(withoutAnnotations(xsd))
	f.Add([]byte(patternSchema))
	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := LoadSchema(bytes.NewReader(doc))
		if err != nil {
			if !errors.Is(err, ErrBadSchema) {
				t.Fatalf("error does not wrap ErrBadSchema: %v", err)
			}
			return
		}
		// A loaded schema must validate without panicking.
		s.Validate(bytes.NewReader([]byte(`<Attack_Pattern_Catalog xmlns="http://capec.mitre.org/capec-3"><Attack_Patterns/></Attack_Pattern_Catalog>`)))
	})
}
