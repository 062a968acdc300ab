package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds nesting in a payload, so a hostile line cannot exhaust the stack.
const maxDepth = 10000

// Decode parses one line into m. The payload is a sub-slice of data, not a
// copy: m is valid only as long as data is. Unknown keys are ignored; a
// payload that is not well-formed JSON is an error.
func Decode(data []byte, m *Message) error {
	d := decoder{data: data}
	*m = Message{}
	if err := d.object(m); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return m.Validate()
}

type decoder struct {
	data []byte
	i    int
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{d.i}, args...)...)
}

func (d *decoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) object(m *Message) error {
	d.ws()
	if d.i >= len(d.data) || d.data[d.i] != '{' {
		return d.errorf("not a JSON object")
	}
	d.i++
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return d.end()
	}
	for {
		d.ws()
		key, err := d.rawStr()
		if err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return d.errorf("expected ':' after key %q", key)
		}
		d.i++
		d.ws()
		if err := d.field(m, key); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.data) {
			return d.errorf("unexpected end of message")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return d.end()
		default:
			return d.errorf("expected ',' or '}'")
		}
	}
}

func (d *decoder) end() error {
	d.ws()
	if d.i != len(d.data) {
		return d.errorf("trailing data after the message object")
	}
	return nil
}

func (d *decoder) field(m *Message, rawKey []byte) error {
	var dst *string
	key := "?"
	switch string(rawKey) {
	case "type":
		if d.literal(`"request"`) {
			m.Type = TypeRequest
			return nil
		} else if d.literal(`"response"`) {
			m.Type = TypeResponse
			return nil
		}
		s, err := d.nullableStr("type")
		m.Type = Type(s)
		return err
	case "payload":
		start := d.i
		if err := d.skip(0); err != nil {
			return fmt.Errorf("payload: %w", err)
		}
		if raw := d.data[start:d.i]; string(raw) != "null" {
			m.Payload = raw
		}
		return nil
	case "id":
		dst = &m.ID
	case "error":
		dst = &m.Error
	case "code":
		dst = &m.Code
	case "source":
		dst = &m.Source
	case "target":
		dst = &m.Target
	case "correlation_id":
		dst = &m.CorrelationID
	default:
		return d.skip(0)
	}
	if dst != &m.Error && dst != &m.CorrelationID {
		// Method names, process ids and codes repeat from message to
		// message: take them from the intern table, without allocating.
		if raw, ok := d.plainStr(); ok {
			*dst = intern(raw)
			return nil
		}
	}
	key = string(rawKey)
	s, err := d.nullableStr(key)
	*dst = s
	return err
}

// plainStr returns the contents of the JSON string at d.i and moves past it
// when it is short printable ASCII without escapes; otherwise it returns
// false and leaves d.i where it was.
func (d *decoder) plainStr() ([]byte, bool) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return nil, false
	}
	for j := d.i + 1; j < len(d.data) && j-d.i <= maxInterned+1; j++ {
		switch c := d.data[j]; {
		case c == '"':
			raw := d.data[d.i+1 : j]
			d.i = j + 1
			return raw, true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
	}
	return nil, false
}

func (d *decoder) nullableStr(key string) (string, error) {
	if d.literal("null") {
		return "", nil
	}
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return "", d.errorf("field %q must be a string", key)
	}
	return d.str()
}

// rawStr returns the bytes of a JSON string at d.i without unescaping, for
// object keys: a key with escapes never matches a message field, and is
// skipped like any unknown key.
func (d *decoder) rawStr() ([]byte, error) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return nil, d.errorf("expected a string")
	}
	start := d.i
	end, err := d.skipStr()
	if err != nil {
		return nil, err
	}
	raw := d.data[start+1 : end-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(d.data[start:end], &s); err != nil {
			return nil, d.errorf("bad key: %w", err)
		}
		return []byte(s), nil
	}
	return raw, nil
}

// str parses a JSON string at d.i.
func (d *decoder) str() (string, error) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return "", d.errorf("expected a string")
	}
	start := d.i
	d.i++
	simple := true
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			if simple {
				return string(d.data[start+1 : d.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(d.data[start:d.i], &s); err != nil {
				return "", d.errorf("bad string: %w", err)
			}
			return s, nil
		case c == '\\':
			simple = false
			if err := d.escape(); err != nil {
				return "", err
			}
			continue
		case c < 0x20:
			return "", d.errorf("control character in string")
		case c >= utf8.RuneSelf:
			simple = false
		}
		d.i++
	}
	return "", d.errorf("unterminated string")
}

// escape validates the escape sequence at d.i and moves past it.
func (d *decoder) escape() error {
	if d.i+1 >= len(d.data) {
		return d.errorf("unterminated escape")
	}
	switch d.data[d.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		d.i += 2
		return nil
	case 'u':
		if d.i+6 > len(d.data) {
			return d.errorf("short \\u escape")
		}
		if _, err := strconv.ParseUint(string(d.data[d.i+2:d.i+6]), 16, 16); err != nil {
			return d.errorf("bad \\u escape")
		}
		d.i += 6
		return nil
	}
	return d.errorf("bad escape character %q", d.data[d.i+1])
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.i >= len(lit) && string(d.data[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// skip moves past one well-formed JSON value, checking its grammar.
func (d *decoder) skip(depth int) error {
	if depth > maxDepth {
		return d.errorf("nesting deeper than %d", maxDepth)
	}
	if d.i >= len(d.data) {
		return d.errorf("unexpected end of message")
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.skipComposite(depth, '}', true)
	case c == '[':
		return d.skipComposite(depth, ']', false)
	case c == '"':
		_, err := d.skipStr()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case d.literal("true"), d.literal("false"), d.literal("null"):
		return nil
	}
	return d.errorf("invalid character %q", d.data[d.i])
}

func (d *decoder) skipStr() (int, error) {
	d.i++
	for d.i < len(d.data) {
		switch c := d.data[d.i]; {
		case c == '"':
			d.i++
			return d.i, nil
		case c == '\\':
			if err := d.escape(); err != nil {
				return 0, err
			}
			continue
		case c < 0x20:
			return 0, d.errorf("control character in string")
		}
		d.i++
	}
	return 0, d.errorf("unterminated string")
}

func (d *decoder) skipComposite(depth int, closer byte, object bool) error {
	d.i++
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == closer {
		d.i++
		return nil
	}
	for {
		d.ws()
		if object {
			if d.i >= len(d.data) || d.data[d.i] != '"' {
				return d.errorf("expected an object key")
			}
			if _, err := d.skipStr(); err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.data) || d.data[d.i] != ':' {
				return d.errorf("expected ':'")
			}
			d.i++
			d.ws()
		}
		if err := d.skip(depth + 1); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.data) {
			return d.errorf("unexpected end of message")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case closer:
			d.i++
			return nil
		default:
			return d.errorf("expected ',' or %q", closer)
		}
	}
}

func (d *decoder) number() error {
	start := d.i
	if d.data[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.data) && d.data[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return d.errorf("bad number")
	}
	if d.i < len(d.data) && d.data[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return d.errorf("bad number %q", d.data[start:d.i])
		}
	}
	if d.i < len(d.data) && (d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		d.i++
		if d.i < len(d.data) && (d.data[d.i] == '+' || d.data[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return d.errorf("bad number %q", d.data[start:d.i])
		}
	}
	return nil
}

// Append appends m's JSON encoding and a newline to dst. The payload is
// written as it is: it must be well-formed JSON (anything decoded by Decode
// or produced by encoding/json is).
func Append(dst []byte, m *Message) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendStr(dst, string(m.Type))
	dst = append(dst, `,"id":`...)
	dst = appendStr(dst, m.ID)
	if len(m.Payload) > 0 {
		dst = append(dst, `,"payload":`...)
		dst = append(dst, m.Payload...)
	}
	dst = appendField(dst, `,"error":`, m.Error)
	dst = appendField(dst, `,"code":`, m.Code)
	dst = appendField(dst, `,"source":`, m.Source)
	dst = appendField(dst, `,"target":`, m.Target)
	dst = appendField(dst, `,"correlation_id":`, m.CorrelationID)
	return append(dst, '}', '\n')
}

func appendField(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	return appendStr(append(dst, key...), v)
}

func appendStr(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			b, _ := json.Marshal(s) // cannot fail for a string
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
