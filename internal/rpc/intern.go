package rpc

import "sync/atomic"

// maxInterned is the longest string the intern table keeps.
const maxInterned = 64

// internTable holds recently decoded method names, process ids and codes,
// so decoding a message does not allocate them again. It is a fixed-size,
// lock-free cache: a slot holds the last string hashed to it, so memory
// stays bounded whatever names arrive.
var internTable [1024]atomic.Pointer[string]

// intern returns b as a string, shared with earlier calls for the same bytes
// while its slot is not taken by another string.
func intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInterned {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &internTable[h%uint32(len(internTable))]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
