package taskflow

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkPipelinePage is the executor's own cost per page (goroutine,
// ordered slot, result, ordered commit) with trivial Fetch and Commit.
func BenchmarkPipelinePage(b *testing.B) {
	p := &Pipeline[int]{
		Limiter: NewLimiter(4),
		Fetch:   func(_ context.Context, i int) (int, error) { return i, nil },
		Commit: func(_ context.Context, i, v int) error {
			if i != v {
				return fmt.Errorf("page %d holds %d", i, v)
			}
			return nil
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		if n, err := p.Run(context.Background(), 0, 1000); err != nil || n != 1000 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/page")
}

// BenchmarkFlowTask is the executor's cost per task of a 100-task chain.
func BenchmarkFlowTask(b *testing.B) {
	f := New()
	prev := ""
	for i := range 100 {
		name := fmt.Sprint("t", i)
		t := f.Add(name, func(context.Context) error { return nil })
		if prev != "" {
			t.After(prev)
		}
		prev = name
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Run(context.Background(), RunOptions{Limiter: NewLimiter(4)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/task")
}

// BenchmarkLimiter is one uncontended Acquire and Release.
func BenchmarkLimiter(b *testing.B) {
	l := NewLimiter(1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Acquire(ctx); err != nil {
			b.Fatal(err)
		}
		l.Release()
	}
}
