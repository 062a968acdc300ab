package rpc

import (
	"fmt"
	"strings"
	"testing"
)

// TestInternedFieldsStayCorrect decodes many more distinct names than the
// intern table has slots, twice: every field comes out as sent, whatever
// slot it shares.
func TestInternedFieldsStayCorrect(t *testing.T) {
	for round := 0; round < 2; round++ {
		for i := 0; i < 5*len(internTable); i++ {
			id, src := fmt.Sprintf("RPCMethod%d", i), fmt.Sprintf("svc-%d", i%97)
			line := fmt.Sprintf(`{"type":"request","id":%q,"source":%q,"target":"local","correlation_id":"c-%d"}`, id, src, i)
			var m Message
			if err := Decode([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			if m.ID != id || m.Source != src || m.Target != "local" || m.CorrelationID != fmt.Sprintf("c-%d", i) {
				t.Fatalf("decoded %+v from %s", m, line)
			}
		}
	}
	// Long names, escapes and non-ASCII take the general path.
	for _, id := range []string{strings.Repeat("M", maxInterned+1), `RPC\"Q`, `RPCé`} {
		line := `{"type":"event","id":"` + id + `"}`
		var m Message
		if err := Decode([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(id, `\"`, `"`)
		if m.ID != want {
			t.Fatalf("id %q decoded as %q", want, m.ID)
		}
	}
}

func TestInternAllocatesOncePerName(t *testing.T) {
	b := []byte("RPCGetCVEByID")
	intern(b)
	if n := testing.AllocsPerRun(100, func() { _ = intern(b) }); n != 0 {
		t.Fatalf("intern of a known name: %v allocations, want 0", n)
	}
}
