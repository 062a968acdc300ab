package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRPCBody sends arbitrary bodies to /restful/rpc: every answer is an
// envelope, 400 and 413 answers never reach the broker, and a body that
// reaches it had a non-empty method and object params.
func FuzzRPCBody(f *testing.F) {
	for _, s := range []string{
		`{"method":"RPCCount","target":"local","params":{"a":1}}`, `{"method":"RPCCount"}`, `{}`, `[]`, `null`, `x`,
		`{"method":5}`, `{"method":"m","params":[1]}`, `{"method":"m","target":1}`, `{"method":"m","params":null}`,
		"{\"method\":\"RPC\xff\"}", `{"method":"m"}}`, `{"method":"m","method":""}`, ` {"method":"m"} `,
		`{"method":"m","params":{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c := &echoCaller{results: map[string]json.RawMessage{"RPCCount": json.RawMessage(`{"count":1}`)}}
		h := New(c, Config{MaxBodyBytes: 4096, Logger: discard()})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/restful/rpc", strings.NewReader(body)))
		var env Envelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("body %q: answer %q is not an envelope: %v", body, rec.Body.Bytes(), err)
		}
		if !utf8.Valid(rec.Body.Bytes()) {
			t.Fatalf("body %q: answer is not valid UTF-8", body)
		}
		switch rec.Code {
		case 200:
			if len(c.calls) != 1 || (env.Retcode != 0 && env.Retcode != 500) {
				t.Fatalf("body %q: 200 with %d calls, retcode %d", body, len(c.calls), env.Retcode)
			}
		case 400, 413:
			if len(c.calls) != 0 || env.Retcode != rec.Code || string(env.Payload) != "null" {
				t.Fatalf("body %q: %d with %d calls, %+v", body, rec.Code, len(c.calls), env)
			}
		default:
			t.Fatalf("body %q: status %d", body, rec.Code)
		}
	})
}

// FuzzDecodeFast checks decodeFast against decodeFields, the reading with
// encoding/json: whenever the fast path accepts a body, the general one
// accepts it too with the same method, target and params.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range []string{
		`{"method":"RPCGetCVEByID","target":"local","params":{"cve_id":"CVE-2026-0001"}}`,
		`{"method":"m"}`, `{"method":"m","method":""}`, `{"method":"","method":"m"}`, `{"method":"m","params":null}`,
		`{"method":"m","params":{"a":"}\"{"}}`, `{"method":"m","params":[1]}`, `{"method":"m","target":null}`,
		`{"method":"m","x":[{"y":"]"}],"target":"t"}`, `{"\u006dethod":"m"}`, `{"Method":"m"}`, `{"method":"m\u0041"}`,
		"{\"method\":\"RPC\xff\"}", ` { "method" : "m" , "params" : { } } `, `{"method":"m"}}`, `{"method":1e3}`,
		`{"method":"m","params":{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeFast(body)
		if !ok {
			return
		}
		slow, _, why := decodeFields(body)
		if why != "" {
			t.Fatalf("body %q: fast path accepted %+v, general path refused: %s", body, fast, why)
		}
		if fast.Method != slow.Method || fast.Target != slow.Target || string(fast.Params) != string(slow.Params) {
			t.Fatalf("body %q: fast %+v, general %+v", body, fast, slow)
		}
	})
}

// TestDecodeFastTakes lists bodies the fast path must read and bodies it
// must leave to decodeFields.
func TestDecodeFastTakes(t *testing.T) {
	for _, c := range []struct {
		body string
		fast bool
	}{
		{`{"method":"RPCGetCVEByID","target":"local","params":{"cve_id":"CVE-2026-0001"}}`, true},
		{` {"params":{"a":[1,"}"]},"method":"m"} `, true},
		{`{"method":"m","target":null,"params":null,"other":[{}]}`, true},
		{`{"method":"m\u0041"}`, false},        // escape
		{`{"\u006dethod":"m"}`, false},         // escaped key
		{"{\"method\":\"RPC\xff\"}", false},    // not ASCII
		{`{"method":"m","params":[1]}`, false}, // refused by decodeFields
		{`{"method":"m"`, false},               // malformed
		{`{}`, false},
	} {
		if _, ok := decodeFast([]byte(c.body)); ok != c.fast {
			t.Errorf("decodeFast(%q) ok = %v, want %v", c.body, ok, c.fast)
		}
	}
}
