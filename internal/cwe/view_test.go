package cwe

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeView(t *testing.T) {
	c, _ := real(t)
	want := c.Views[0]
	snake, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	// The REST API form of the same view: PascalCase keys, bare ids.
	var m map[string]any
	json.Unmarshal(snake, &m)
	delete(m, "kind")
	rest, _ := json.Marshal(pascalKeys(m, ""))
	if !strings.Contains(string(rest), `"ID":"`+strings.TrimPrefix(want.ID, "CWE-")+`"`) {
		t.Fatalf("REST form lacks a bare ID: %.100s", rest)
	}
	for name, doc := range map[string][]byte{"rpc form": snake, "rest form": rest} {
		got, err := DecodeView(doc)
		if err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: %+v, %v\nwant %+v", name, got, err, want)
		}
	}
	for doc, msg := range map[string]string{
		`[]`: "not an object",
		`{"ID": 1000, "Name": "n", "Type": "Graph", "Status": "Bogus"}`: `Status "Bogus"`,
		`{"ID": "x", "Name": "n"}`:                                      `ID "x"`,
		`{"ID": 1000, "Name": ["n"]}`:                                   "field name",
		`{"ID": 1000,`:                                                  "view",
	} {
		if _, err := DecodeView([]byte(doc)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), msg) {
			t.Errorf("DecodeView(%s) = %v, want ErrMalformed mentioning %q", doc, err, msg)
		}
	}
}
