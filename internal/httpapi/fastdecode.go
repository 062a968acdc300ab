package httpapi

import (
	"encoding/json"

	"github.com/v2e/v2e/internal/rpc"
)

// decodeFast reads the usual body — a valid JSON object whose keys have no
// escapes and whose method and target are plain ASCII strings without
// escapes — without encoding/json's map of raw values (half of the
// handler's CPU and 23 of its allocations). Anything else gives ok false and
// decode takes decodeFields, so both read every body the same way
// (FuzzDecodeFast checks it): duplicated keys keep the last value, unknown
// keys are ignored, null means absent, and every error comes from
// decodeFields.
func decodeFast(body []byte) (req rpcRequest, ok bool) {
	if !json.Valid(body) {
		return req, false
	}
	i := ws(body, 0)
	if i >= len(body) || body[i] != '{' {
		return req, false
	}
	i = ws(body, i+1)
	if i < len(body) && body[i] == '}' {
		return req, false // no method: decodeFields says so
	}
	var method, target []byte
	var params json.RawMessage
	for i < len(body) {
		key, next, plain := plainString(body, i)
		if !plain {
			return req, false
		}
		i = ws(body, next)
		if i >= len(body) || body[i] != ':' {
			return req, false
		}
		i = ws(body, i+1)
		end := skipValue(body, i)
		if end < 0 {
			return req, false
		}
		v := body[i:end]
		switch string(key) {
		case "target":
			if string(v) == "null" {
				target = nil
				break
			}
			fallthrough
		case "method":
			s, _, plain := plainString(v, 0)
			if !plain || len(s) != len(v)-2 {
				return req, false // null, another type, escapes: decodeFields decides
			}
			if key[0] == 'm' {
				method = s
			} else {
				target = s
			}
		case "params":
			switch {
			case string(v) == "null":
				params = nil
			case v[0] == '{':
				params = v
			default:
				return req, false
			}
		}
		i = ws(body, end)
		if i < len(body) && body[i] == ',' {
			i = ws(body, i+1)
			continue
		}
		break
	}
	if len(method) == 0 {
		return req, false
	}
	req.Method, req.Target, req.Params = string(method), string(target), params
	if req.Target == "" {
		req.Target = rpc.BrokerID
	}
	return req, true
}

// ws skips JSON whitespace from i.
func ws(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads the string starting at b[i] and returns its contents
// and the index after its closing quote; plain is false when b[i] is not a
// quote or the string holds an escape, a control character or a byte
// outside ASCII (encoding/json's reading of those is left to it).
func plainString(b []byte, i int) (s []byte, next int, plain bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// skipValue returns the index just after the JSON value starting at b[i],
// which json.Valid has checked, or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				if i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for i < len(b) { // number, true, false, null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i], or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}
