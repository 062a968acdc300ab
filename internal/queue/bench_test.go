package queue

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// benchMsg is a typical routed request line (~120 bytes).
var benchMsg = []byte(`{"type":"request","id":"RPCGetCVEByID","payload":{"cve_id":"CVE-2021-44228"},"source":"access","target":"local","correlation_id":"access-000123"}`)

// BenchmarkOffer measures one Offer through to the sink (Close is inside the
// timed loop's tail, so every accepted message is delivered) for each
// policy and batch size; delivered/op is the share that got through.
func BenchmarkOffer(b *testing.B) {
	for _, p := range []Policy{Wait, Drop, Reject} {
		for _, batch := range []int{1, 16} {
			b.Run(fmt.Sprintf("%v/batch%d", p, batch), func(b *testing.B) {
				var n atomic.Int64
				q, _ := New("local", Config{Buffer: 1000, Batch: batch, Flush: 10 * time.Millisecond, Policy: p}, func(m [][]byte) error {
					n.Add(int64(len(m)))
					return nil
				})
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					q.Offer(ctx, benchMsg)
				}
				q.Close()
				b.ReportMetric(float64(n.Load())/float64(b.N), "delivered/op")
			})
		}
	}
}

// BenchmarkOfferParallel is Offer from 8×GOMAXPROCS goroutines into one
// destination.
func BenchmarkOfferParallel(b *testing.B) {
	for _, p := range []Policy{Wait, Drop, Reject} {
		b.Run(p.String(), func(b *testing.B) {
			var n atomic.Int64
			q, _ := New("local", Config{Buffer: 1000, Batch: 16, Flush: 10 * time.Millisecond, Policy: p}, func(m [][]byte) error {
				n.Add(int64(len(m)))
				return nil
			})
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					q.Offer(ctx, benchMsg)
				}
			})
			q.Close()
			b.ReportMetric(float64(n.Load())/float64(b.N), "delivered/op")
		})
	}
}

// BenchmarkCopy compares the pooled copy Offer makes with a plain
// allocation, for a small and a medium message.
func BenchmarkCopy(b *testing.B) {
	for _, size := range []int{128, 4096} {
		msg := make([]byte, size)
		b.Run(fmt.Sprintf("pooled/%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p := getBuf(len(msg))
				*p = append((*p)[:0], msg...)
				putBuf(p)
			}
		})
		b.Run(fmt.Sprintf("alloc/%d", size), func(b *testing.B) {
			b.ReportAllocs()
			var keep []byte
			for b.Loop() {
				keep = append([]byte(nil), msg...)
			}
			_ = keep
		})
	}
}
