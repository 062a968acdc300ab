package apidoc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const sample = `{"processes":{
  "sysmon":[{"name":"RPCGetSysMetrics","params":"{history?: bool}","result":"{cpu_usage}","doc":"Host metrics."}],
  "local":[{"name":"RPCGetCVEByID","params":"{cve_id}","result":"{cve, id}","doc":"One CVE\nby id | exact."},
           {"name":"RPCCountCVEs","result":"{count}"}]},
 "broker":[{"name":"RPCListProcesses","result":"{processes}","doc":"Every process."},{"name":"RPCGetMessageStats","result":"{total}"}]}`

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		methods int
		err     string
	}{
		{"payload", sample, 5, ""},
		{"envelope", `{"retcode":0,"message":"success","payload":` + sample + `}`, 5, ""},
		{"envelope error", `{"retcode":500,"message":"boom","payload":null}`, 0, "retcode 500: boom"},
		{"not json", `nope`, 0, "not a JSON object"},
		{"wrong shape", `{"processes":[1]}`, 0, "decode catalogue"},
		{"empty", `{"processes":{},"broker":[]}`, 0, ErrEmpty.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cat, err := Parse([]byte(c.in))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := len(cat.Broker)
			for _, ms := range cat.Processes {
				n += len(ms)
			}
			if n != c.methods {
				t.Fatalf("%d methods, want %d", n, c.methods)
			}
		})
	}
	if _, err := Parse([]byte(`{"processes":{}}`)); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty catalogue: %v", err)
	}
}

func TestRender(t *testing.T) {
	cat, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	out := Render(cat, "go test ./e2e -run TestAPIDoc -update")
	if again := Render(cat, "go test ./e2e -run TestAPIDoc -update"); !bytes.Equal(out, again) {
		t.Fatal("rendering is not deterministic")
	}
	s := string(out)
	for _, want := range []string{
		Header,
		"`go test ./e2e -run TestAPIDoc -update`",
		"| [local](#local) | 2 |",
		"## broker",
		"| `RPCGetMessageStats` | — | `{total}` |  |\n| `RPCListProcesses` | — | `{processes}` | Every process. |",
		"| `RPCGetCVEByID` | `{cve_id}` | `{cve, id}` | One CVE by id \\| exact. |",
		"| `RPCCountCVEs` | — | `{count}` |  |",
		"| `RPCGetSysMetrics` | `{history?: bool}` | `{cpu_usage}` | Host metrics. |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// Processes and methods in name order, broker first.
	order := []string{"## broker", "## local", "RPCCountCVEs", "RPCGetCVEByID", "## sysmon"}
	last := -1
	for _, w := range order {
		i := strings.Index(s, w)
		if i <= last {
			t.Fatalf("%q out of order in:\n%s", w, s)
		}
		last = i
	}
}
