package kernel

import (
	"sync"
	"unsafe"
)

// buffer is a pooled, 64-byte aligned float32 scratch area.
type buffer struct {
	raw []float32
	s   []float32
}

var bufPool sync.Pool

// getBuf returns a buffer whose s holds at least n floats, starting on a
// cache-line boundary.
func getBuf(n int) *buffer {
	b, _ := bufPool.Get().(*buffer)
	if b == nil {
		b = new(buffer)
	}
	if cap(b.raw) < n+16 {
		b.raw = make([]float32, n+16)
	}
	raw := b.raw[:cap(b.raw)]
	off := int((64 - uintptr(unsafe.Pointer(&raw[0]))%64) % 64 / 4)
	b.s = raw[off : off+n]
	return b
}

func putBuf(b *buffer) { bufPool.Put(b) }
