package nvd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// member is one key and raw value as ScanObject reports them.
type member struct{ key, value string }

func scanMembers(data []byte) ([]member, error) {
	var out []member
	err := ScanObject(data, func(k, v []byte) error {
		out = append(out, member{string(k), string(v)})
		return nil
	})
	return out, err
}

// decoderMembers reads the members of a JSON object with encoding/json.
func decoderMembers(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, member{tok.(string), string(raw)})
	}
	return out, nil
}

func TestScanObject(t *testing.T) {
	tests := []struct {
		in      string
		want    []member
		wantErr string
	}{
		{in: `{}`},
		{in: " \n{ \"a\" : 1 , \"b\":[1, {\"c\":null}],\"d\":\"x\\\"y\"}\t", want: []member{{"a", "1"}, {"b", `[1, {"c":null}]`}, {"d", `"x\"y"`}}},
		{in: `{"\u0063ve":true}`, want: []member{{"cve", "true"}}},
		{in: `{"n":-0.5e+10}`, want: []member{{"n", "-0.5e+10"}}},
		{in: `[]`, wantErr: "not a JSON object"},
		{in: `{"a":1}x`, wantErr: "data after the JSON value"},
		{in: `{"a":01}`, wantErr: "expected ',' or '}'"},
		{in: `{"a":"x` + "\x01" + `"}`, wantErr: "control character 0x1 in string"},
		{in: `{"a":"\x"}`, wantErr: "bad escape character 'x'"},
		{in: `{"a":"\u12G4"}`, wantErr: `bad \u escape`},
		{in: `{"a" 1}`, wantErr: "expected ':'"},
		{in: `{"a":[1,]}`, wantErr: "invalid character ']'"},
		{in: `{"a":tru}`, wantErr: "invalid character 't'"},
		{in: `{"a":1.}`, wantErr: "no digit after '.'"},
		{in: `{"a":"b`, wantErr: "unterminated string"},
		{in: `{"a":` + strings.Repeat("[", maxDepth+1), wantErr: "nesting deeper than"},
	}
	for _, tt := range tests {
		got, err := scanMembers([]byte(tt.in))
		if tt.wantErr != "" {
			if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ScanObject(%.40q): error %v, want ErrSyntax containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("ScanObject(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ScanObject(%q) member %d = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestScanStopsAtCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := ScanArray([]byte(`[1,2,3]`), func([]byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("ScanArray: %v after %d elements, want the callback's error after 1", err, n)
	}
}

func TestRawInt(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "-12": -12, "2000": 2000} {
		if n, err := RawInt([]byte(in)); err != nil || n != want {
			t.Errorf("RawInt(%q) = %d, %v", in, n, err)
		}
	}
	for _, in := range []string{"1.5", "1e3", "null", `"1"`, "99999999999999999999"} {
		if _, err := RawInt([]byte(in)); !errors.Is(err, ErrSyntax) {
			t.Errorf("RawInt(%q): %v, want ErrSyntax", in, err)
		}
	}
}

// TestScanRealPages reads real NVD API pages with ScanObject and
// ScanArray and compares every member and record with encoding/json.
func TestScanRealPages(t *testing.T) {
	for _, name := range []string{"full-page.json", "single-entry.json"} {
		page, err := os.ReadFile("../../testdata/nvd/pages/vunnel/" + name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scanMembers(page)
		want, derr := decoderMembers(page)
		if err != nil || derr != nil || len(got) != len(want) || len(got) < 7 {
			t.Fatalf("%s: %d members, %v; encoding/json %d, %v", name, len(got), err, len(want), derr)
		}
		var p Page
		if err := json.Unmarshal(page, &p); err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, m := range got {
			if m != want[i] {
				t.Errorf("%s: member %d = %.60q, encoding/json %.60q", name, i, m, want[i])
			}
			if m.key != "vulnerabilities" {
				continue
			}
			err := ScanArray([]byte(m.value), func(v []byte) error {
				return ScanObject(v, func(k, cve []byte) error {
					if string(k) == "cve" && !bytes.Equal(cve, p.Vulnerabilities[n].CVE) {
						t.Errorf("%s: record %d differs from encoding/json's", name, n)
					}
					n++
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if n != len(p.Vulnerabilities) || n == 0 {
			t.Errorf("%s: %d records, encoding/json %d", name, n, len(p.Vulnerabilities))
		}
	}
}

// FuzzScanObject checks ScanObject against encoding/json: it accepts
// exactly the objects encoding/json accepts, and reports the same members.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"\u00e9\n"}],"c":-1.5E-3}`, `{"a":1,"a":2}`, `{"a":"\ud800"}`, "{\"\xff\":1}", `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := scanMembers(data)
		valid := json.Valid(data) && bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{"))
		if (err == nil) != valid {
			t.Fatalf("ScanObject(%q): error %v, json.Valid object %v", data, err, valid)
		}
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		want, derr := decoderMembers(data)
		if derr != nil || len(got) != len(want) {
			t.Fatalf("ScanObject(%q) = %v; encoding/json %v, %v", data, got, want, derr)
		}
		for i := range got {
			// encoding/json replaces invalid UTF-8 in keys; ScanObject
			// passes a key without escapes as it is.
			if got[i].value != want[i].value || utf8.ValidString(got[i].key) && got[i].key != want[i].key {
				t.Fatalf("ScanObject(%q) member %d = %q, encoding/json %q", data, i, got[i], want[i])
			}
		}
	})
}

// FuzzScanArray checks ScanArray against encoding/json as FuzzScanObject does.
func FuzzScanArray(f *testing.F) {
	for _, s := range []string{`[]`, ` [1, "a", {"b":[]}, null, true, false] `, `[1,]`, `{}`, `[[[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []string
		err := ScanArray(data, func(v []byte) error { got = append(got, string(v)); return nil })
		valid := json.Valid(data) && bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("["))
		if (err == nil) != valid {
			t.Fatalf("ScanArray(%q): error %v, json.Valid array %v", data, err, valid)
		}
		if err != nil {
			return
		}
		var want []json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil || len(want) != len(got) {
			t.Fatalf("ScanArray(%q) = %q; encoding/json %q, %v", data, got, want, err)
		}
		for i := range got {
			var c bytes.Buffer
			_ = json.Compact(&c, []byte(got[i]))
			var w bytes.Buffer
			_ = json.Compact(&w, want[i])
			if c.String() != w.String() {
				t.Fatalf("ScanArray(%q) element %d = %q, encoding/json %q", data, i, got[i], want[i])
			}
		}
	})
}

// FuzzScanObjects checks ScanObjects against ScanArray and then ScanObject
// on each element: the same members, element by element, and an error
// exactly when one of those has one.
func FuzzScanObjects(f *testing.F) {
	for _, s := range []string{`[]`, ` [{"cve":{"id":"a"}}, {}, {"cve":null,"cve":[1]} ] `, `[{"a":1},2]`, `[{"a":1},]`, `[{"a" 1}]`, `{}`, `[{"\u0063ve":1}]`} {
		f.Add([]byte(s))
	}
	type member struct{ elem, key, value string }
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []member
		elem := 0
		err := ScanObjects(data, func(k, v []byte) error {
			got = append(got, member{fmt.Sprint(elem), string(k), string(v)})
			return nil
		}, func(i int) error {
			if i != elem {
				t.Fatalf("done(%d) after element %d", i, elem)
			}
			got = append(got, member{fmt.Sprint(i), "", "done"})
			elem++
			return nil
		})
		var want []member
		welem := 0
		werr := ScanArray(data, func(v []byte) error {
			i := fmt.Sprint(welem)
			if err := ScanObject(v, func(k, v []byte) error {
				want = append(want, member{i, string(k), string(v)})
				return nil
			}); err != nil {
				return err
			}
			want = append(want, member{i, "", "done"})
			welem++
			return nil
		})
		if (err == nil) != (werr == nil) || err != nil && !errors.Is(err, ErrSyntax) {
			t.Fatalf("ScanObjects(%q): error %v; ScanArray and ScanObject: %v", data, err, werr)
		}
		if err != nil {
			return
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ScanObjects(%q) = %q; ScanArray and ScanObject: %q", data, got, want)
		}
	})
}

// benchScanRecords reads the page's vulnerabilities with scan, which calls
// member for each member of each item, and checks it saw 2000 (an item is
// {"cve": …}).
func benchScanRecords(b *testing.B, page []byte, scan func(v []byte, member func(k, v []byte) error) error) {
	b.ReportAllocs()
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		n := 0
		err := ScanObject(page, func(k, v []byte) error {
			if string(k) != "vulnerabilities" {
				return nil
			}
			return scan(v, func(k, v []byte) error { n++; return nil })
		})
		if err != nil || n != 2000 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkScanPage reads the records of a 2000-record API page (the
// loopback server's, 7 MB) with ScanObject/ScanArray, with
// ScanObject/ScanObjects (each byte once), against
// encoding/json decoding the same page into Page.
func BenchmarkScanPage(b *testing.B) {
	page := benchPage(b)
	b.Run("scan", func(b *testing.B) {
		benchScanRecords(b, page, func(v []byte, member func(k, v []byte) error) error {
			return ScanArray(v, func(e []byte) error { return ScanObject(e, member) })
		})
	})
	b.Run("scan-objects", func(b *testing.B) {
		benchScanRecords(b, page, func(v []byte, member func(k, v []byte) error) error {
			return ScanObjects(v, member, func(int) error { return nil })
		})
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			var p Page
			if err := json.Unmarshal(page, &p); err != nil || len(p.Vulnerabilities) != 2000 {
				b.Fatal(err)
			}
		}
	})
}

// benchPage is a 2000-record page made of the 2026 feed's records.
func benchPage(b testing.TB) []byte {
	f, err := LoadFeeds("../../assets/nvd/nvdcve-2.0-2026.json")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"resultsPerPage":2000,"startIndex":0,"totalResults":300000,"format":"NVD_CVE","version":"2.0","timestamp":"2026-01-01T00:00:00.000","vulnerabilities":[`)
	recs := f.Records()
	for i := range 2000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"cve":`)
		buf.Write(recs[i%len(recs)].Raw)
		buf.WriteByte('}')
	}
	buf.WriteString("]}")
	return buf.Bytes()
}
