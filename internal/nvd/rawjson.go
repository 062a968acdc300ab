package nvd

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ErrSyntax is wrapped by ScanObject and ScanArray for input that is not
// well-formed JSON of the expected kind.
var ErrSyntax = errors.New("nvd: malformed JSON")

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 10000

// ScanObject calls fn for each member of the JSON object data, in order,
// with its key and its raw value: a sub-slice of data, without the white
// space around it. A key holding escapes is passed unescaped (a copy);
// otherwise key is a sub-slice of data too. The whole of data is checked
// as encoding/json checks it (grammar, escapes, no control bytes in
// strings; UTF-8 is not checked), so a nil error means data is one
// well-formed JSON object with only white space around it. An error from
// fn stops the scan and is returned as it is.
//
// Pages run to megabytes: ScanObject reads each byte once and allocates
// nothing, where encoding/json reads a RawMessage three times (validity,
// scan, compaction) and copies it.
func ScanObject(data []byte, fn func(key, value []byte) error) error {
	return scanObject(data, func(key, value []byte, _ bool) error { return fn(key, value) })
}

// scanObject is ScanObject also telling whether each value holds white
// space outside its strings (so that compacting it would change it).
func scanObject(data []byte, fn func(key, value []byte, spaced bool) error) error {
	s := scanner{data: data}
	s.ws()
	if err := s.object(1, fn); err != nil {
		return err
	}
	return s.end()
}

// ScanObjects reads data, a JSON array of objects, as ScanArray and then
// ScanObject on each element would, reading each byte once instead of
// twice: for each element it calls member for each of its members (key
// and raw value as ScanObject passes them), then done with the element's
// index. An element that is not an object is an error; an error from
// member or done stops the scan and is returned as it is.
func ScanObjects(data []byte, member func(key, value []byte) error, done func(i int) error) error {
	return scanObjects(data, func(key, value []byte, _ bool) error { return member(key, value) }, done)
}

// scanObjects is ScanObjects also telling whether each value holds white
// space outside its strings.
func scanObjects(data []byte, member func(key, value []byte, spaced bool) error, done func(i int) error) error {
	s := scanner{data: data}
	s.ws()
	if !s.next('[') {
		return s.errorf("not a JSON array")
	}
	s.ws()
	if !s.next(']') {
		for i := 0; ; i++ {
			s.ws()
			if err := s.object(2, member); err != nil {
				return err
			}
			if err := done(i); err != nil {
				return err
			}
			s.ws()
			if s.next(',') {
				continue
			}
			if s.next(']') {
				break
			}
			return s.errorf("expected ',' or ']' in array")
		}
	}
	return s.end()
}

// object moves past the object at s.i, calling fn for each member; its
// values are at depth.
func (s *scanner) object(depth int, fn func(key, value []byte, spaced bool) error) error {
	if !s.next('{') {
		return s.errorf("not a JSON object")
	}
	s.ws()
	if s.next('}') {
		return nil
	}
	for {
		s.ws()
		key, err := s.key()
		if err != nil {
			return err
		}
		s.ws()
		if !s.next(':') {
			return s.errorf("expected ':' after object key")
		}
		s.ws()
		start, spaces := s.i, s.spaces
		if err := s.value(depth); err != nil {
			return err
		}
		if err := fn(key, s.data[start:s.i], s.spaces != spaces); err != nil {
			return err
		}
		s.ws()
		if s.next(',') {
			continue
		}
		if s.next('}') {
			return nil
		}
		return s.errorf("expected ',' or '}' in object")
	}
}

// ScanArray calls fn for each element of the JSON array data, in order,
// with its raw value (a sub-slice of data, no white space around it). It
// checks data as ScanObject does; an error from fn stops the scan and is
// returned as it is.
func ScanArray(data []byte, fn func(elem []byte) error) error {
	s := scanner{data: data}
	s.ws()
	if !s.next('[') {
		return s.errorf("not a JSON array")
	}
	s.ws()
	if !s.next(']') {
		for {
			s.ws()
			start := s.i
			if err := s.value(1); err != nil {
				return err
			}
			if err := fn(data[start:s.i]); err != nil {
				return err
			}
			s.ws()
			if s.next(',') {
				continue
			}
			if s.next(']') {
				break
			}
			return s.errorf("expected ',' or ']' in array")
		}
	}
	return s.end()
}

// scanner walks data from i.
type scanner struct {
	data   []byte
	i      int
	spaces int // white space bytes skipped so far
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrSyntax, s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
			s.spaces++
		default:
			return
		}
	}
}

// next consumes c if it is the next byte.
func (s *scanner) next(c byte) bool {
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.data) {
		return s.errorf("data after the JSON value")
	}
	return nil
}

// key reads an object key, unescaping it when it holds escapes.
func (s *scanner) key() ([]byte, error) {
	if s.i >= len(s.data) || s.data[s.i] != '"' {
		return nil, s.errorf("expected an object key")
	}
	start := s.i
	escaped, err := s.str()
	if err != nil {
		return nil, err
	}
	if !escaped {
		return s.data[start+1 : s.i-1], nil
	}
	var k string
	if err := json.Unmarshal(s.data[start:s.i], &k); err != nil {
		return nil, s.errorf("bad object key: %v", err)
	}
	return []byte(k), nil
}

// value moves past one JSON value.
func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return s.errorf("nesting deeper than %d", maxDepth)
	}
	if s.i >= len(s.data) {
		return s.errorf("unexpected end of JSON")
	}
	switch c := s.data[s.i]; {
	case c == '"':
		_, err := s.str()
		return err
	case c == '{':
		return s.composite(depth, '}', true)
	case c == '[':
		return s.composite(depth, ']', false)
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case s.literal("true"), s.literal("false"), s.literal("null"):
		return nil
	}
	return s.errorf("invalid character %q", s.data[s.i])
}

func (s *scanner) composite(depth int, closer byte, object bool) error {
	s.i++
	s.ws()
	if s.next(closer) {
		return nil
	}
	for {
		s.ws()
		if object {
			if s.i >= len(s.data) || s.data[s.i] != '"' {
				return s.errorf("expected an object key")
			}
			if _, err := s.str(); err != nil {
				return err
			}
			s.ws()
			if !s.next(':') {
				return s.errorf("expected ':' after object key")
			}
			s.ws()
		}
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.next(',') {
			continue
		}
		if s.next(closer) {
			return nil
		}
		return s.errorf("expected ',' or %q", closer)
	}
}

// plain marks the bytes a string may hold without a closer look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plain8 reports whether none of the 8 bytes in w is '"', '\\' or a
// control byte (the SWAR tests "has a byte less than n" and "has a zero
// byte" of Bit Twiddling Hacks).
func plain8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((w-ones*0x20)&^w|(q-ones)&^q|(b-ones)&^b)&highs == 0
}

// str moves past the string at s.i and reports whether it held escapes.
func (s *scanner) str() (escaped bool, err error) {
	s.i++
	d := s.data
	for {
		i := s.i
		for i+8 <= len(d) && plain8(binary.LittleEndian.Uint64(d[i:])) {
			i += 8
		}
		for i < len(d) && plain[d[i]] {
			i++
		}
		s.i = i
		if i >= len(d) {
			return false, s.errorf("unterminated string")
		}
		switch c := d[i]; {
		case c == '"':
			s.i++
			return escaped, nil
		case c == '\\':
			escaped = true
			if err := s.escape(); err != nil {
				return false, err
			}
		default:
			return false, s.errorf("control character %#x in string", c)
		}
	}
}

func (s *scanner) escape() error {
	if s.i+1 >= len(s.data) {
		return s.errorf("unterminated escape")
	}
	switch s.data[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return nil
	case 'u':
		if s.i+6 > len(s.data) {
			return s.errorf("short \\u escape")
		}
		for _, h := range s.data[s.i+2 : s.i+6] {
			if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
				return s.errorf("bad \\u escape")
			}
		}
		s.i += 6
		return nil
	}
	return s.errorf("bad escape character %q", s.data[s.i+1])
}

func (s *scanner) literal(lit string) bool {
	if bytes.HasPrefix(s.data[s.i:], []byte(lit)) {
		s.i += len(lit)
		return true
	}
	return false
}

func (s *scanner) number() error {
	s.next('-')
	digits := func() int {
		n := 0
		for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if !s.next('0') && digits() == 0 {
		return s.errorf("bad number")
	}
	if s.next('.') && digits() == 0 {
		return s.errorf("bad number: no digit after '.'")
	}
	if s.next('e') || s.next('E') {
		if !s.next('+') {
			s.next('-')
		}
		if digits() == 0 {
			return s.errorf("bad number: no digit in exponent")
		}
	}
	return nil
}

// RawInt reads a raw JSON value (as ScanObject passes it) as an int: a
// JSON number without fraction or exponent that fits an int. Anything else,
// null included, is an error.
func RawInt(value []byte) (int, error) {
	n, err := strconv.Atoi(string(value))
	if err != nil {
		return 0, fmt.Errorf("%w: %.40q is not an integer", ErrSyntax, value)
	}
	return n, nil
}
