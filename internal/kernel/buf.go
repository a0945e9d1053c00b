package kernel

import (
	"math/bits"
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
// it holds at most maxFree buffers (eight per processor).
//
// Products of different shapes ask for different sizes, and on several
// workers they overlap in varying order. So that the buffers of one
// training step serve the next without growing again, a request takes the
// smallest free buffer that fits (a small product does not take the large
// buffer a concurrent large one needs), a miss allocates a new buffer
// rather than regrowing (and so discarding) a smaller free one that other
// requests fit, and sizes are rounded up to a class (quarter steps between
// powers of two) so that products of nearly equal shapes share buffers.
// When the list is full, the smallest buffer is the one dropped.
var bufFree struct {
	sync.Mutex
	list []*buffer
}

// maxFree is the most free buffers kept. A training step of two shares
// side by side on two processors has up to ten buffers in use at once
// (each share's product split between two workers, each part holding a
// packed B and a packed A, and a product computed transposed its output);
// the list must keep them all, or a step's peak drops a few and the next
// step allocates them again (300 KB to 1.25 MB each). Four per processor
// did so every few steps.
var maxFree = 8 * runtime.GOMAXPROCS(0)

// bufClass rounds n up to the next size class: 2^e·{1, 1.25, 1.5, 1.75},
// at most 25% above n.
func bufClass(n int) int {
	if n <= 64 {
		return 64
	}
	e := bits.Len(uint(n-1)) - 3 // quarter step of the octave below 2^Len
	step := 1 << e
	return (n + step - 1) &^ (step - 1)
}

// getBuf returns a buffer whose s holds at least n floats, starting on a
// cache-line boundary: the smallest free buffer that is large enough, or
// a new one.
func getBuf(n int) *buffer {
	var b *buffer
	bufFree.Lock()
	l := bufFree.list
	best := -1
	for i, f := range l {
		if cap(f.raw) >= n+16 && (best < 0 || cap(f.raw) < cap(l[best].raw)) {
			best = i
		}
	}
	if best >= 0 {
		b = l[best]
		l[best] = l[len(l)-1]
		l[len(l)-1] = nil
		bufFree.list = l[:len(l)-1]
	}
	bufFree.Unlock()
	if b == nil {
		b = &buffer{raw: make([]float32, bufClass(n+16))}
	}
	raw := b.raw[:cap(b.raw)]
	off := int((64 - uintptr(unsafe.Pointer(&raw[0]))%64) % 64 / 4)
	b.s = raw[off : off+n]
	return b
}

// putBuf returns b to the free list; when the list is full, the smallest
// of its buffers and b is dropped.
func putBuf(b *buffer) {
	bufFree.Lock()
	l := bufFree.list
	if len(l) < maxFree {
		bufFree.list = append(l, b)
	} else {
		small := 0
		for i, f := range l {
			if cap(f.raw) < cap(l[small].raw) {
				small = i
			}
		}
		if cap(l[small].raw) < cap(b.raw) {
			l[small] = b
		}
	}
	bufFree.Unlock()
}
