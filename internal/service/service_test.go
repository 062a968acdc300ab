package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/rpc"
)

// peer is the broker's side of a service's pipes.
type peer struct {
	r *rpc.Reader
	w *rpc.Writer
	c io.Closer
}

func (p *peer) read(t *testing.T) rpc.Message {
	t.Helper()
	line, err := p.r.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	var m rpc.Message
	if err := rpc.Decode(append([]byte(nil), line...), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func startService(t *testing.T, s *Service) (*peer, <-chan error) {
	t.Helper()
	svcIn, toSvc, _ := os.Pipe()
	fromSvc, svcOut, _ := os.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- s.Run(context.Background(), svcIn, svcOut)
		svcOut.Close()
	}()
	p := &peer{r: rpc.NewReader(fromSvc, 0), w: rpc.NewWriter(toSvc), c: toSvc}
	ready := p.read(t)
	if ready.Type != rpc.TypeEvent || ready.ID != rpc.EventReady || ready.Source != s.ID() || !strings.Contains(string(ready.Payload), `"RPCEcho"`) {
		t.Fatalf("first message: %+v %s", ready, ready.Payload)
	}
	return p, done
}

func TestServiceAnswersEveryRequest(t *testing.T) {
	s := New("local", Options{MaxConcurrent: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var running, peak atomic.Int32
	s.Handle("RPCEcho", func(ctx context.Context, p json.RawMessage) (any, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		v, err := Decode[struct {
			CVEID string `json:"cve_id"`
		}](p)
		if err != nil {
			return nil, err
		}
		return map[string]string{"cve_id": v.CVEID}, Required("cve_id", v.CVEID)
	})
	got := make(chan json.RawMessage, 1)
	s.OnEvent("RPCOnQuotaUpdate", func(ctx context.Context, p json.RawMessage) { got <- p })
	p, done := startService(t, s)

	send := func(id, method, payload string) {
		m := &rpc.Message{Type: rpc.TypeRequest, ID: method, CorrelationID: id, Source: "broker", Target: "local"}
		if payload != "" {
			m.Payload = json.RawMessage(payload)
		}
		if err := p.w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 6; i++ {
		send("ok"+string(rune('a'+i)), "RPCEcho", `{"cve_id":"CVE-2021-44228"}`)
	}
	send("bad", "RPCEcho", `{"cve_id":5}`)
	send("missing", "RPCEcho", `{}`)
	send("unknown", "RPCNope", "")
	answers := map[string]rpc.Message{}
	for len(answers) < 9 {
		m := p.read(t)
		answers[m.CorrelationID] = m
	}
	if a := answers["oka"]; a.Type != rpc.TypeResponse || string(a.Payload) != `{"cve_id":"CVE-2021-44228"}` || a.Target != "broker" {
		t.Fatalf("ok answer: %+v", a)
	}
	if a := answers["bad"]; a.Type != rpc.TypeError || a.Error != `invalid params: field "cve_id": expected string, got number` || a.Code != "invalid" {
		t.Fatalf("bad params answer: %+v", a)
	}
	if a := answers["missing"]; a.Error != "invalid params: cve_id is required" {
		t.Fatalf("missing param answer: %+v", a)
	}
	if a := answers["unknown"]; a.Error != "no handler found for method: RPCNope" {
		t.Fatalf("unknown method answer: %+v", a)
	}
	if peak.Load() > 2 {
		t.Fatalf("%d handlers ran at once; bound is 2", peak.Load())
	}
	ev, _ := rpc.NewEvent("RPCOnQuotaUpdate", "local", map[string]int{"revoked_permits": 2})
	p.w.Write(ev)
	select {
	case b := <-got:
		if string(b) != `{"revoked_permits":2}` {
			t.Fatalf("event body %s", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event not delivered")
	}
	// End of input: the service stops cleanly.
	p.c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("service did not stop at end of input")
	}
}

func TestCallThroughPeer(t *testing.T) {
	s := New("meta", Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.Handle("RPCEcho", func(ctx context.Context, p json.RawMessage) (any, error) { return nil, nil })
	p, _ := startService(t, s)
	defer p.c.Close()
	errc := make(chan error, 1)
	var res struct{ Count int }
	go func() { errc <- s.Call(context.Background(), "local", "RPCCountCVEs", nil, &res) }()
	req := p.read(t)
	if req.Type != rpc.TypeRequest || req.Target != "local" || req.Source != "meta" || req.CorrelationID == "" {
		t.Fatalf("request: %+v", req)
	}
	resp, _ := rpc.ResponseTo(&req, map[string]int{"count": 42})
	p.w.Write(resp)
	if err := <-errc; err != nil || res.Count != 42 {
		t.Fatalf("call: %+v %v", res, err)
	}
	// An error answer comes back as *rpc.Error with its code.
	go func() { errc <- s.Call(context.Background(), "local", "RPCGetCVEByID", nil, nil) }()
	req = p.read(t)
	p.w.Write(rpc.ErrorTo(&req, rpc.Errorf(rpc.CodeNotFound, "CVE-1999-0001 not found")))
	if err := <-errc; !errors.Is(err, rpc.NotFound) {
		t.Fatalf("want NotFound, got %v", err)
	}
	// A call that gets no answer ends with its context.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Call(ctx, "local", "RPCSlow", nil, nil); !errors.Is(err, rpc.Timeout) {
		t.Fatalf("want Timeout, got %v", err)
	}
}

func TestRunFromEnvWithoutDescriptors(t *testing.T) {
	t.Setenv("RPC_INPUT_FD", "")
	t.Setenv("RPC_OUTPUT_FD", "")
	if err := New("x", Options{}).RunFromEnv(context.Background()); !errors.Is(err, ErrNoFDs) {
		t.Fatalf("want ErrNoFDs, got %v", err)
	}
	t.Setenv("RPC_INPUT_FD", "97")
	if err := New("x", Options{}).RunFromEnv(context.Background()); !errors.Is(err, ErrNoFDs) {
		t.Fatalf("want ErrNoFDs for a closed descriptor, got %v", err)
	}
}

func TestPageNormalize(t *testing.T) {
	for _, c := range []struct {
		in   Page
		want Page
		ok   bool
	}{{Page{}, Page{0, 100}, true}, {Page{5, 1000}, Page{5, 1000}, true}, {Page{0, 1001}, Page{}, false}, {Page{-1, 10}, Page{}, false}} {
		got, err := c.in.Normalize()
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("%+v: %+v %v", c.in, got, err)
		}
	}
}

func TestLimitProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(before)
	runtime.GOMAXPROCS(2)
	t.Setenv("GOMAXPROCS", "2")
	LimitProcs(1)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("with GOMAXPROCS in the environment: %d procs, want the environment's 2", got)
	}
	t.Setenv("GOMAXPROCS", "")
	LimitProcs(1)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("without GOMAXPROCS in the environment: %d procs, want 1", got)
	}
	LimitProcs(4) // never raises
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("LimitProcs(4) raised GOMAXPROCS to %d", got)
	}
}
