package cwe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// ParseJSON reads the JSON form of the catalog: an array of Weakness objects
// as MITRE's CWE REST API describes them (PascalCase keys: ID, Name,
// Abstraction, Status, Description, RelatedWeaknesses, RelatedAttackPatterns,
// ...), or an object whose "Weaknesses" member is such an array. It yields
// weaknesses only. Errors wrap ErrMalformed and name the line, the array item
// and the field.
func ParseJSON(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	lines := newLineIndex(data)
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := openArray(d, lines); err != nil {
		return nil, err
	}
	c := &Catalog{}
	for i := 0; d.More(); i++ {
		off := d.InputOffset()
		for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
			off++
		}
		w := where{line: lines.at(off), item: i, kind: "Weakness"}
		x, err := decodeWeakness(d, w, lines)
		if err != nil {
			return nil, err
		}
		c.Weaknesses = append(c.Weaknesses, x)
	}
	if _, err := d.Token(); err != nil { // the closing ]
		return nil, jsonErr(err, lines, d)
	}
	return c, nil
}

// openArray consumes input up to the '[' that opens the list of weaknesses.
func openArray(d *json.Decoder, lines lineIndex) error {
	tok, err := d.Token()
	if err != nil {
		return jsonErr(err, lines, d)
	}
	if tok == json.Delim('[') {
		return nil
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("%w: line 1: want an array of weaknesses or an object with \"Weaknesses\", got %v", ErrMalformed, tok)
	}
	for d.More() {
		key, err := d.Token()
		if err != nil {
			return jsonErr(err, lines, d)
		}
		if k, _ := key.(string); strings.EqualFold(k, "Weaknesses") {
			return openArray(d, lines)
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return jsonErr(err, lines, d)
		}
	}
	return fmt.Errorf("%w: line %d: object has no \"Weaknesses\" array", ErrMalformed, lines.at(d.InputOffset()))
}

func decodeWeakness(d *json.Decoder, w where, lines lineIndex) (Weakness, error) {
	var raw any
	if err := d.Decode(&raw); err != nil {
		return Weakness{}, jsonErr(err, lines, d)
	}
	if _, ok := raw.(map[string]any); !ok {
		return Weakness{}, w.errorf("is not an object")
	}
	snake, err := json.Marshal(snakeKeys(raw))
	if err != nil {
		return Weakness{}, w.errorf("%v", err)
	}
	var x Weakness
	if err := json.Unmarshal(snake, &x); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return x, w.errorf("field %s: cannot use JSON %s as %s", te.Field, te.Value, te.Type)
		}
		return x, w.errorf("%v", err)
	}
	return x, checkWeakness(w, &x)
}

// snakeKeys rewrites object keys from PascalCase ("RelatedWeaknesses",
// "CweID", "Taxonomy_Mappings") to snake_case and numbers to strings (every
// leaf of a Weakness is a string), recursively.
func snakeKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, val := range t {
			m[snake(k)] = snakeKeys(val)
		}
		return m
	case []any:
		for i := range t {
			t[i] = snakeKeys(t[i])
		}
		return t
	case json.Number:
		return t.String()
	}
	return v
}

// snake converts "CweID" to "cwe_id", "URLDate" to "url_date", "Entry_ID" to "entry_id".
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 && r[i-1] != '_' {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (unicode.IsUpper(r[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func jsonErr(err error, lines lineIndex, d *json.Decoder) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: line %d: %s", ErrMalformed, lines.at(se.Offset), se.Error())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: line %d: unexpected end of JSON input", ErrMalformed, lines.at(d.InputOffset()))
	}
	return fmt.Errorf("%w: line %d: %w", ErrMalformed, lines.at(d.InputOffset()), err)
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int64

func newLineIndex(data []byte) lineIndex {
	var idx lineIndex
	for i, c := range data {
		if c == '\n' {
			idx = append(idx, int64(i))
		}
	}
	return idx
}

func (l lineIndex) at(off int64) int {
	lo, hi := 0, len(l)
	for lo < hi {
		m := (lo + hi) / 2
		if l[m] < off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo + 1
}
