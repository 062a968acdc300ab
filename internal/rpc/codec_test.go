package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	msgs := []Message{
		{Type: TypeEvent, ID: EventReady, Payload: json.RawMessage(`{"id":"local"}`), Source: "local"},
		{Type: TypeRequest, ID: "RPCGetCVEByID", Payload: json.RawMessage(`{"cve_id":"CVE-2021-44228","n":[1,-2.5e3,true,null,{"a":"\u00e9\n"}]}`), Source: "access", Target: "local", CorrelationID: "access-1"},
		{Type: TypeError, ID: "RPCx", Error: "no handler found for method: RPCx", Code: "not_found", Target: "access", CorrelationID: "c"},
		{Type: TypeResponse, ID: "weird \"quoted\" \\ id\twith ünïcode", CorrelationID: "x"},
	}
	for _, want := range msgs {
		line := Append(nil, &want)
		if line[len(line)-1] != '\n' || bytes.Count(line, []byte("\n")) != 1 {
			t.Fatalf("encoding of %+v is not one line: %q", want, line)
		}
		var got Message
		if err := Decode(line[:len(line)-1], &got); err != nil {
			t.Fatalf("decode %q: %v", line, err)
		}
		if !equalMessages(got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
		// encoding/json agrees with our encoder.
		var std Message
		if err := json.Unmarshal(line, &std); err != nil || !equalMessages(std, want) {
			t.Fatalf("encoding/json reads %+v, %v", std, err)
		}
	}
}

func equalMessages(a, b Message) bool {
	ap, bp := a.Payload, b.Payload
	if a.Type != b.Type || a.ID != b.ID || a.Error != b.Error || a.Code != b.Code ||
		a.Source != b.Source || a.Target != b.Target || a.CorrelationID != b.CorrelationID {
		return false
	}
	if len(ap) == 0 || len(bp) == 0 {
		return len(ap) == len(bp)
	}
	var x, y any
	if json.Unmarshal(ap, &x) != nil || json.Unmarshal(bp, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func TestDecodeRejects(t *testing.T) {
	cases := map[string]string{
		"empty":             ``,
		"array":             `[1,2]`,
		"not json":          `hello`,
		"no type":           `{"id":"x"}`,
		"bad type":          `{"type":"ping","id":"x"}`,
		"no id":             `{"type":"event"}`,
		"number id":         `{"type":"event","id":5}`,
		"error without txt": `{"type":"error","id":"x"}`,
		"bad payload":       `{"type":"event","id":"x","payload":{"a":}}`,
		"unterminated":      `{"type":"event","id":"x","payload":"abc}`,
		"trailing":          `{"type":"event","id":"x"} {}`,
		"bad escape":        `{"type":"event","id":"\q"}`,
		"bad number":        `{"type":"event","id":"x","payload":01}`,
		"missing colon":     `{"type" "event"}`,
		"deep":              `{"type":"event","id":"x","payload":` + strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2) + `}`,
	}
	for name, in := range cases {
		var m Message
		err := Decode([]byte(in), &m)
		if !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: Decode(%.60q) = %v, want ErrInvalidMessage", name, in, err)
		}
	}
}

func TestDecodeNullsAndUnknownKeys(t *testing.T) {
	var m Message
	in := `{"type":"response","id":"R","payload":null,"error":null,"extra":{"k":[1,2]},"correlation_id":"c1"}`
	if err := Decode([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	if m.Payload != nil || m.CorrelationID != "c1" || m.Error != "" {
		t.Fatalf("got %+v", m)
	}
}

func TestReaderOversizeLineIsSkipped(t *testing.T) {
	big := strings.Repeat("x", 200<<10) // larger than the bufio buffer too
	in := "{\"a\":1}\n\n" + big + "\n{\"b\":2}\r\n" + strings.Repeat("y", 150) + "\n{\"c\":3}"
	r := NewReader(strings.NewReader(in), 100)
	want := []string{`{"a":1}`, "TOO LARGE", `{"b":2}`, "TOO LARGE", `{"c":3}`}
	for i, w := range want {
		line, err := r.ReadLine()
		if w == "TOO LARGE" {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("line %d: want ErrTooLarge, got %q, %v", i, line, err)
			}
			continue
		}
		if err != nil || string(line) != w {
			t.Fatalf("line %d: got %q, %v; want %q", i, line, err, w)
		}
	}
	if _, err := r.ReadLine(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestReaderLongLineWithinLimit(t *testing.T) {
	long := `{"type":"event","id":"x","payload":"` + strings.Repeat("z", 300<<10) + `"}`
	r := NewReader(strings.NewReader(long+"\n"+long), 1<<20)
	for i := 0; i < 2; i++ {
		line, err := r.ReadLine()
		if err != nil || string(line) != long {
			t.Fatalf("read %d: len %d, %v", i, len(line), err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"request","id":"RPCGetCVEByID","payload":{"cve_id":"CVE-2021-44228"},"source":"access","target":"local","correlation_id":"a-1"}`))
	f.Add([]byte(`{"type":"error","id":"x","error":"boom \u00e9","payload":[1,2.5,-3e-2,"s",true,false,null]}`))
	f.Add([]byte(`{"type":"event","id":"subprocess_ready","payload":{"id":"meta"}}`))
	f.Add([]byte(`{"type":"response","id":"x","payload":"\ud800"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		err := Decode(data, &m)
		if err != nil {
			return
		}
		// Whatever we accept, encoding/json accepts too and reads the same
		// (compared key by key: encoding/json matches struct keys ignoring case).
		var std map[string]json.RawMessage
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("we accepted %q, encoding/json refused: %v", data, err)
		}
		for key, got := range map[string]string{"type": string(m.Type), "id": m.ID, "error": m.Error,
			"code": m.Code, "source": m.Source, "target": m.Target, "correlation_id": m.CorrelationID} {
			var s *string
			if raw, ok := std[key]; ok {
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatalf("%s: %v", key, err)
				}
			}
			if (s == nil && got != "") || (s != nil && *s != got) {
				t.Fatalf("key %s of %q: ours %q, encoding/json %v", key, data, got, s)
			}
		}
		// And what we encode we read back the same.
		var again Message
		line := Append(nil, &m)
		if err := Decode(line[:len(line)-1], &again); err != nil || !equalMessages(again, m) {
			t.Fatalf("re-decode of %q: %+v, %v", line, again, err)
		}
	})
}
