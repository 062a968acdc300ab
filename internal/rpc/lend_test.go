package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func blobRequest(t *testing.T, method string, blobBytes int) []byte {
	t.Helper()
	m, err := NewRequest(method, "local", "c-"+method, map[string]string{"blob": strings.Repeat("a", blobBytes)})
	if err != nil {
		t.Fatal(err)
	}
	return Append(nil, m)
}

// blobLen checks that a payload is still the {"blob":"aaa…"} it was sent as
// and returns the blob's length.
func blobLen(t *testing.T, payload json.RawMessage) int {
	t.Helper()
	var p struct{ Blob string }
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatalf("payload: %v", err)
	}
	if strings.Trim(p.Blob, "a") != "" {
		t.Fatal("payload changed")
	}
	return len(p.Blob)
}

// TestLentRequestPayloads: large requests for a lending method arrive in a
// buffer that Release takes back and the next one reuses; every other
// payload is a copy of its own, intact after the reader moved on.
func TestLentRequestPayloads(t *testing.T) {
	var in bytes.Buffer
	in.Write(blobRequest(t, "RPCSaveCVEs", 100<<10))   // lent
	in.Write(blobRequest(t, "RPCSaveCVEs", 90<<10))    // lent, in the buffer given back
	in.Write(blobRequest(t, "RPCSaveCVEs", 10))        // small: a copy
	in.Write(blobRequest(t, "RPCImportCWEs", 100<<10)) // not lending: a copy
	c := NewConn("local", &in, io.Discard, 0)
	c.LendPayloads("RPCSaveCVEs")
	next := func() *Message {
		t.Helper()
		m, err := c.Next(nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	first := next()
	if first.lent == nil || blobLen(t, first.Payload) != 100<<10 {
		t.Fatalf("first: lent %v, want a lent payload of 100 KiB", first.lent != nil)
	}
	buf := &first.lent[:1][0]
	c.Release(first)
	if first.Payload != nil || first.lent != nil {
		t.Fatal("Release left the payload in place")
	}
	second := next()
	if second.lent == nil || &second.lent[:1][0] != buf {
		t.Fatal("second: the released buffer was not reused")
	}
	third, fourth := next(), next() // second not released: it must stay intact
	for _, m := range []*Message{third, fourth} {
		if m.lent != nil {
			t.Errorf("%s (%d bytes): lent, want a copy", m.ID, len(m.Payload))
		}
	}
	if blobLen(t, second.Payload) != 90<<10 || blobLen(t, third.Payload) != 10 || blobLen(t, fourth.Payload) != 100<<10 {
		t.Fatal("payloads changed while later lines were read")
	}
	c.Release(third) // nothing lent: nothing happens
	if third.Payload == nil {
		t.Fatal("Release dropped a payload that was not lent")
	}
}

// TestCallLent: a large answer to CallLent arrives in a buffer that its
// release gives back for the next answer; CallTimeout's answers are not lent.
func TestCallLent(t *testing.T) {
	c := peer(t, echoPeer)
	ctx := context.Background()
	params := map[string]string{"blob": strings.Repeat("a", 80<<10)}

	p1, release, err := c.CallLent(ctx, 0, "remote", "RPCFetchCVEs", params)
	if err != nil {
		t.Fatal(err)
	}
	if blobLen(t, p1) != 80<<10 {
		t.Fatal("first answer: wrong payload")
	}
	first := &p1[:1][0]
	release()
	p2, release2, err := c.CallLent(ctx, 0, "remote", "RPCFetchCVEs", params)
	if err != nil {
		t.Fatal(err)
	}
	if &p2[:1][0] != first {
		t.Fatal("the released buffer was not reused for the next answer")
	}
	p3, err := c.CallTimeout(ctx, 0, "remote", "RPCFetchCVEs", params)
	if err != nil {
		t.Fatal(err)
	}
	if &p3[:1][0] == first || blobLen(t, p2) != 80<<10 || blobLen(t, p3) != 80<<10 {
		t.Fatal("an answer not asked for lent shared the lent buffer")
	}
	release2()
	if _, release, err := c.CallLent(ctx, 100*time.Millisecond, "remote", "RPCSilent", nil); err == nil {
		t.Fatal("RPCSilent answered")
	} else {
		release() // never nil, even on error
	}
}
