package rpc

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// peer is the other end of a Conn: it decodes each request and answers it
// with answer (no answer when it returns nil).
func peer(t *testing.T, answer func(*Message) *Message) *Conn {
	t.Helper()
	toPeer, fromConn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromPeer, toConn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn("tester", fromPeer, fromConn, 0)
	go func() {
		defer toConn.Close()
		rd, wr := NewReader(toPeer, 0), NewWriter(toConn)
		for {
			line, err := rd.ReadLine()
			if err != nil {
				return
			}
			var m Message
			if err := Decode(line, &m); err != nil {
				t.Error(err)
				return
			}
			if a := answer(&m); a != nil {
				_ = wr.Write(a)
			}
		}
	}()
	served := make(chan error, 1)
	go func() { served <- c.Serve(func(*Message) {}, nil) }()
	t.Cleanup(func() {
		fromConn.Close() // the peer sees EOF and closes its end: Serve returns
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		toPeer.Close()
		fromPeer.Close()
	})
	return c
}

func echoPeer(m *Message) *Message {
	if m.ID == "RPCSilent" {
		return nil
	}
	r, _ := ResponseTo(m, m.Payload)
	return r
}

func TestCallTimeoutWithoutAnswer(t *testing.T) {
	c := peer(t, echoPeer)
	start := time.Now()
	_, err := c.CallTimeout(context.Background(), 100*time.Millisecond, "peer", "RPCSilent", nil)
	took := time.Since(start)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeTimeout || e.Message != "RPCSilent on peer: rpc: timed out" {
		t.Fatalf("got %v, want a timeout error", err)
	}
	if took < 100*time.Millisecond {
		t.Fatalf("gave up after %s, before the 100ms timeout", took)
	}
	if n := c.Pending(); n != 0 {
		t.Fatalf("%d calls still pending after the timeout", n)
	}
	// The Conn still works, and calls without a timeout are not swept.
	raw, err := c.CallTimeout(context.Background(), time.Minute, "peer", "RPCEcho", map[string]int{"n": 1})
	if err != nil || string(raw) != `{"n":1}` {
		t.Fatalf("after a timeout: %s, %v", raw, err)
	}
	raw, err = c.Call(context.Background(), "peer", "RPCEcho", map[string]int{"n": 2})
	if err != nil || string(raw) != `{"n":2}` {
		t.Fatalf("untimed call: %s, %v", raw, err)
	}
}

func TestCallContextBeatsTimeout(t *testing.T) {
	c := peer(t, echoPeer)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := c.CallTimeout(ctx, time.Minute, "peer", "RPCSilent", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestCallFailsWhenStreamEnds(t *testing.T) {
	toPeer, fromConn, _ := os.Pipe()
	fromPeer, toConn, _ := os.Pipe()
	defer toPeer.Close()
	defer fromConn.Close()
	defer fromPeer.Close()
	c := NewConn("tester", fromPeer, fromConn, 0)
	served := make(chan error, 1)
	go func() { served <- c.Serve(func(*Message) {}, nil) }()
	go func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(toPeer, 1)) // the request arrived
		toConn.Close()
	}()
	_, err := c.CallTimeout(context.Background(), time.Minute, "peer", "RPCEcho", nil)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(context.Background(), "peer", "RPCEcho", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call on a closed Conn: %v, want ErrClosed", err)
	}
}
