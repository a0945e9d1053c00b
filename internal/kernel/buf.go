package kernel

import (
	"runtime"
	"sync"
	"unsafe"
)

// buffer is a pooled, 64-byte aligned float32 scratch area.
type buffer struct {
	raw []float32
	s   []float32
}

// bufFree keeps released packing buffers. Unlike a sync.Pool it is not
// emptied by the garbage collector, so a training loop that allocates
// elsewhere does not make every GEMM allocate its packing buffers again;
// it holds at most maxFree buffers (a few per processor).
var bufFree struct {
	sync.Mutex
	list []*buffer
}

var maxFree = 4 * runtime.GOMAXPROCS(0)

// getBuf returns a buffer whose s holds at least n floats, starting on a
// cache-line boundary. It prefers a free buffer that is already large
// enough.
func getBuf(n int) *buffer {
	var b *buffer
	bufFree.Lock()
	l := bufFree.list
	for i := len(l) - 1; i >= 0; i-- {
		if cap(l[i].raw) >= n+16 {
			b = l[i]
			l[i] = l[len(l)-1]
			bufFree.list = l[:len(l)-1]
			break
		}
	}
	if b == nil && len(l) > 0 {
		b = l[len(l)-1]
		bufFree.list = l[:len(l)-1]
	}
	bufFree.Unlock()
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

// putBuf returns b to the free list, or drops it when the list is full.
func putBuf(b *buffer) {
	bufFree.Lock()
	if len(bufFree.list) < maxFree {
		bufFree.list = append(bufFree.list, b)
	}
	bufFree.Unlock()
}
