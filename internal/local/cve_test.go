package local

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

func TestBatchRecords(t *testing.T) {
	tests := []struct {
		name    string
		params  string
		want    []string
		wantErr string
	}{
		{name: "records", params: `{"cves":[{"id":"CVE-2026-0001"}, {"id":"CVE-2026-0002","x":[1,2]}]}`,
			want: []string{`{"id":"CVE-2026-0001"}`, `{"id":"CVE-2026-0002","x":[1,2]}`}},
		{name: "other keys", params: ` {"a":1,"cves":[null],"b":"c"} `, want: []string{"null"}},
		{name: "empty", params: `{"cves":[]}`, want: []string{}},
		{name: "absent params", params: ``},
		{name: "null cves", params: `{"cves":null}`},
		{name: "key in other case", params: `{"CVES":[{"id":"CVE-2026-0001"}]}`, want: []string{`{"id":"CVE-2026-0001"}`}},
		{name: "not an array", params: `{"cves":5}`, wantErr: `field "cves"`},
		{name: "not an object", params: `[1]`, wantErr: "expected a JSON object"},
		{name: "malformed", params: `{"cves":[{"id":}]}`, wantErr: "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := batchRecords(json.RawMessage(tt.params))
			if tt.wantErr != "" {
				if !errors.Is(err, rpc.Invalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want code invalid containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("batchRecords = %q, %v; want %q", got, err, tt.want)
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("record %d = %s, want %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzBatchRecords checks batchRecords against service.Decode, which it
// replaces on the hot path: same records (as JSON), same acceptance.
func FuzzBatchRecords(f *testing.F) {
	if page, err := os.ReadFile("../../testdata/nvd/pages/single/CVE-2022-0090.json"); err == nil {
		f.Add(append(append([]byte(`{"cves":[`), page...), "]}"...))
	}
	for _, s := range []string{`{"cves":[{"id":"CVE-2026-0001"}]}`, `{"cves":5}`, `{"Cves":[1],"cves":[2]}`, `{"cves":[1],"cves":null}`, ``, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		got, err := batchRecords(params)
		want, werr := service.Decode[struct {
			CVEs []json.RawMessage `json:"cves"`
		}](params)
		if (err == nil) != (werr == nil) {
			t.Fatalf("batchRecords(%q): error %v, service.Decode %v", params, err, werr)
		}
		if err != nil {
			return
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want.CVEs)
		if string(g) != string(w) {
			t.Fatalf("batchRecords(%q) = %s, service.Decode %s", params, g, w)
		}
	})
}

// TestGetResult: the hand-built answer is the JSON encoding/json gives, and
// a stored record with line breaks is compacted (a message is one line).
func TestGetResult(t *testing.T) {
	for _, raw := range []string{
		`{"id":"CVE-2021-44228","descriptions":[{"lang":"en","value":"a \"quoted\"\nline"}],"metrics":{}}`,
		"{\"id\": \"CVE-2021-44228\",\n  \"x\": [1, 2]\r\n}",
	} {
		got, err := rpc.ResponseTo(&rpc.Message{ID: "RPCGetCVEByID"}, getResult(json.RawMessage(raw), "CVE-2021-44228"))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(map[string]any{"cve": json.RawMessage(raw), "id": "CVE-2021-44228"})
		var a, b any
		if err := json.Unmarshal(got.Payload, &a); err != nil {
			t.Fatalf("answer is not JSON: %v\n%s", err, got.Payload)
		}
		_ = json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("answer %s, want %s", got.Payload, want)
		}
		if strings.ContainsAny(string(got.Payload), "\r\n") {
			t.Errorf("answer holds a line break: %q", got.Payload)
		}
	}
}
