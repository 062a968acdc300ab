package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
)

func TestGroupIsolatesSlowDestination(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, err := NewGroup(Config{Buffer: 8, Workers: 2, Policy: Drop})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		slow, fast := newGated(t), &recorder{}
		if _, err := g.Add("remote", slow.sink); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Add("local", fast.sink); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Add("local", fast.sink); !errors.Is(err, ErrExists) {
			t.Fatalf("second Add: %v", err)
		}
		ctx := context.Background()
		for i := range 100 {
			g.Offer(ctx, "remote", msg(i))
			if err := g.Offer(ctx, "local", msg(i)); err != nil && !errors.Is(err, ErrDropped) {
				t.Fatal(err)
			}
			if i%8 == 7 {
				synctest.Wait() // let the fast consumer keep up
			}
		}
		synctest.Wait()
		if n := len(fast.got()); n != 100 {
			t.Fatalf("fast destination got %d of 100 while the slow one was stuck", n)
		}
		if s := g.Saturation(); s != 1 {
			t.Fatalf("saturation %v, want 1 (remote full)", s)
		}
		if b := g.Busy(); b != 1 {
			t.Fatalf("busy %d, want 1 (remote's stuck delivery)", b)
		}
		st := g.Stats()
		if st["remote"].Dropped != 100-1-8 || st["local"].Dropped != 0 {
			t.Fatalf("stats %+v", st)
		}
		if err := g.Offer(ctx, "nobody", msg(0)); !errors.Is(err, ErrUnknownDestination) {
			t.Fatalf("unknown destination: %v", err)
		}
		close(slow.gate)
		if err := g.Remove("remote"); err != nil {
			t.Fatal(err)
		}
		if len(slow.got()) != 9 || g.Queue("remote") != nil {
			t.Fatalf("remove: delivered %d, queue %v", len(slow.got()), g.Queue("remote"))
		}
		g.Remove("remote") // unknown: no-op
	})
}

func TestGroupWorkersBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := NewGroup(Config{Workers: 2})
		defer g.Close()
		var rs []*recorder
		for i := range 4 {
			r := newGated(t)
			rs = append(rs, r)
			g.Add(fmt.Sprint("svc", i), r.sink)
			g.Offer(context.Background(), fmt.Sprint("svc", i), msg(i))
		}
		synctest.Wait()
		if b := g.Busy(); b != 2 {
			t.Fatalf("busy %d with 4 stuck destinations and 2 workers", b)
		}
		for _, r := range rs {
			close(r.gate)
		}
		synctest.Wait()
		for i, r := range rs {
			if len(r.got()) != 1 {
				t.Fatalf("svc%d got %d", i, len(r.got()))
			}
		}
	})
}

func TestGroupClose(t *testing.T) {
	g, _ := NewGroup(Config{})
	r := &recorder{}
	g.Add("meta", r.sink)
	for i := range 10 {
		g.Offer(context.Background(), "meta", msg(i))
	}
	g.Close()
	g.Close()
	if len(r.got()) != 10 {
		t.Fatalf("delivered %d of 10 by Close", len(r.got()))
	}
	if _, err := g.Add("local", r.sink); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	if err := g.Offer(context.Background(), "meta", msg(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Offer after Close: %v", err)
	}
}

// TestConcurrentOffers runs producers under every policy against
// destinations of different speeds and checks that every offered message is
// accounted for exactly once.
func TestConcurrentOffers(t *testing.T) {
	for _, p := range []Policy{Wait, Drop, Reject} {
		t.Run(p.String(), func(t *testing.T) {
			g, _ := NewGroup(Config{Buffer: 16, Workers: 2, Batch: 4, Policy: p})
			dests := []string{"local", "remote", "meta"}
			rs := map[string]*recorder{}
			for _, d := range dests {
				rs[d] = &recorder{}
				g.Add(d, rs[d].sink)
			}
			const producers, each = 6, 500
			var wg sync.WaitGroup
			for i := range producers {
				wg.Go(func() {
					for j := range each {
						g.Offer(context.Background(), dests[(i+j)%3], msg(j))
					}
				})
			}
			wg.Wait()
			g.Close()
			var offered, delivered, lost uint64
			for d, st := range g.Stats() {
				offered += st.Offered
				delivered += st.Delivered
				lost += st.Dropped + st.Rejected
				if got := uint64(len(rs[d].got())); got != st.Delivered {
					t.Fatalf("%s: sink saw %d, stats say %d", d, got, st.Delivered)
				}
				if st.Enqueued != st.Delivered || st.Offered != st.Enqueued+st.Dropped+st.Rejected {
					t.Fatalf("%s: %+v", d, st)
				}
			}
			if offered != producers*each || delivered+lost != offered {
				t.Fatalf("offered %d delivered %d lost %d", offered, delivered, lost)
			}
			if p == Wait && lost != 0 {
				t.Fatalf("wait lost %d", lost)
			}
		})
	}
}
