package rpc

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// gatedWriter records what it is given; each Write call announces itself on
// started and returns only when release is signalled, after copying the
// buffer it was handed (so a later change to that buffer would show).
type gatedWriter struct {
	mu      sync.Mutex
	out     bytes.Buffer
	started chan int
	release chan struct{}
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.started <- len(p)
	<-g.release
	g.mu.Lock()
	g.out.Write(p)
	g.mu.Unlock()
	return len(p), nil
}

// TestWriterBigLineThenConcurrentLines writes a line larger than the
// buffers a Writer keeps while other lines arrive during each write: every
// line must come out whole. A Writer that kept the spare buffer's array in
// use by the pending lines after writing a buffer it does not keep handed
// that array out twice, and lines added during the next write overwrote the
// bytes being written.
func TestWriterBigLineThenConcurrentLines(t *testing.T) {
	g := &gatedWriter{started: make(chan int), release: make(chan struct{})}
	w := NewWriter(g)
	done := make(chan error, 8)
	write := func(line string) { go func() { done <- w.WriteLine([]byte(line)) }() }

	// Round 1: a line long enough to hold the later small ones, so that
	// the Writer has a spare buffer they fit in.
	first := strings.Repeat("f", 256)
	write(first + "\n")
	<-g.started
	g.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Round 2: a line too big to be kept; lines queued during its write
	// go to the spare buffer.
	big := strings.Repeat("x", maxKept) + "\n"
	write(big)
	<-g.started
	for i := range 3 {
		if err := w.WriteLine(fmt.Appendf(nil, "during-big-%d\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	g.release <- struct{}{}
	// Round 3 writes the queued lines; lines added meanwhile must not land
	// in the buffer being written.
	<-g.started
	for i := range 3 {
		if err := w.WriteLine(fmt.Appendf(nil, "overwrite-%d-%s\n", i, strings.Repeat("y", 8))); err != nil {
			t.Fatal(err)
		}
	}
	g.release <- struct{}{}
	<-g.started // round 4: the lines of round 3's wait
	g.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	got := strings.Split(strings.TrimSuffix(g.out.String(), "\n"), "\n")
	want := []string{first, big[:len(big)-1], "during-big-0", "during-big-1", "during-big-2"}
	for i := range 3 {
		want = append(want, fmt.Sprintf("overwrite-%d-%s", i, strings.Repeat("y", 8)))
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %.40q, want %.40q", i, got[i], want[i])
		}
	}
}

// TestWriterForward: a line passed on as it arrived gets its newline, a
// message without one is encoded; buffered lines wait for Flush.
func TestWriterForward(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	raw := []byte(`{"type":"event","id":"x","source":"a"}`)
	if err := w.Forward(nil, raw, true); err != nil {
		t.Fatal(err)
	}
	m := &Message{Type: TypeResponse, ID: "RPCy", Payload: []byte(`{"ok":true}`), Target: "b", CorrelationID: "c1"}
	if err := w.Forward(m, nil, true); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("buffered lines were written before Flush: %q", out.String())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Forward(nil, raw, false); err != nil {
		t.Fatal(err)
	}
	want := string(raw) + "\n" + string(Append(nil, m)) + string(raw) + "\n"
	if out.String() != want {
		t.Fatalf("got %q\nwant %q", out.String(), want)
	}
}
