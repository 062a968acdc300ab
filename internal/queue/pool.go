package queue

import "sync"

// Message buffers are pooled so that copying a message into a queue does not
// allocate in the steady state. Buffers above maxPooled are allocated and
// left to the garbage collector: keeping them would pin large blocks after
// a burst of big messages.
const (
	minPooled = 512
	maxPooled = 64 << 10
)

var bufs = sync.Pool{New: func() any {
	b := make([]byte, 0, minPooled)
	return &b
}}

// getBuf returns a pooled buffer with room for n bytes, or nil if n is too
// large to pool.
func getBuf(n int) *[]byte {
	if n > maxPooled {
		return nil
	}
	p := bufs.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, 0, min(maxPooled, max(n, 2*cap(*p))))
	}
	return p
}

// putBuf returns p to the pool; nil is ignored.
func putBuf(p *[]byte) {
	if p == nil || cap(*p) > maxPooled {
		return
	}
	*p = (*p)[:0]
	bufs.Put(p)
}
