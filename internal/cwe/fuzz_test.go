package cwe

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseXML(f *testing.F) {
	f.Add(fragment(f, 1))
	f.Add([]byte(`<Weakness_Catalog xmlns="http://cwe.mitre.org/cwe-7"><Categories><Category ID="1009" Name="Audit" Status="Draft"><Summary>s</Summary><Relationships><Has_Member CWE_ID="117" View_ID="1008"/></Relationships></Category></Categories></Weakness_Catalog>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := ParseXML(bytes.NewReader(doc))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		for _, w := range c.Weaknesses {
			if _, err := ParseID(w.ID); err != nil || w.Name == "" {
				t.Fatalf("accepted weakness with bad id or name: %+v", w)
			}
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	c, _ := real(f)
	var b bytes.Buffer
	if err := WriteJSON(&b, c.Weaknesses[:1]); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"Weaknesses":[{"ID":"79","Name":"n","Abstraction":"Base","Structure":"Simple","Status":"Stable","Description":"d","RelatedAttackPatterns":[63]}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := ParseJSON(bytes.NewReader(doc))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		for _, w := range c.Weaknesses {
			if _, err := ParseID(w.ID); err != nil || w.Name == "" {
				t.Fatalf("accepted weakness with bad id or name: %+v", w)
			}
		}
	})
}

func FuzzDecodeView(f *testing.F) {
	f.Add([]byte(`{"ID":"1003","Name":"Weaknesses for Simplified Mapping of Published Vulnerabilities","Type":"Graph","Status":"Incomplete","Members":[{"CWE_ID":"20","View_ID":"1003"}]}`))
	f.Add([]byte(`{"id":"CWE-1003","name":"n","type":"Graph","status":"Draft","audience":[{"type":"Educators"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := DecodeView(doc)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if _, err := ParseID(v.ID); err != nil || v.Name == "" {
			t.Fatalf("accepted view with bad id or name: %+v", v)
		}
	})
}
