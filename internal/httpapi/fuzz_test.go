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
