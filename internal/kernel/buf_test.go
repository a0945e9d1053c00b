package kernel

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
)

// TestBufFreeWarmCycleReuses replays the packing-buffer requests of two
// overlapping products of different sizes (a small one and a large one,
// taken in either order, as two workers take them) and checks that once
// the cycle has run, running it again allocates nothing. A request that
// took the first free buffer large enough — the large one, for a small
// product — left the large product to regrow the small buffer: a new
// allocation in the second cycle.
func TestBufFreeWarmCycleReuses(t *testing.T) {
	emptyBufFree(t)
	const small, large = 1000, 100_000
	short := false
	cycle := func() {
		x := getBuf(small)
		y := getBuf(large)
		putBuf(y)
		putBuf(x)
		w := getBuf(large)
		v := getBuf(small)
		short = short || len(w.s) != large || len(v.s) != small
		putBuf(v)
		putBuf(w)
	}
	// PerRun runs the cycle once before it counts.
	require.Zero(t, testalloc.PerRun(1, cycle), "allocations of a warm cycle")
	require.Zero(t, testalloc.PerRun(3, cycle), "allocations of warm cycles")
	require.False(t, short, "a buffer of the wrong length")
}

// TestBufClass checks the size classes: at least n, at most 25% above it,
// and nearby sizes sharing a class.
func TestBufClass(t *testing.T) {
	for n := 1; n < 1<<20; n += 1 + n/7 {
		c := bufClass(n)
		require.GreaterOrEqual(t, c, n)
		require.LessOrEqual(t, c, max(64, n+n/4), "class of %d", n)
	}
	require.Equal(t, bufClass(89792+16), bufClass(92560+16))
}

// TestBufFreeFullDropsSmallest checks that a full free list keeps its
// largest buffers.
func TestBufFreeFullDropsSmallest(t *testing.T) {
	emptyBufFree(t)
	bufs := make([]*buffer, maxFree+1)
	for i := range bufs {
		bufs[i] = getBuf(64 << (i % 8))
	}
	big := getBuf(1 << 16)
	for _, b := range bufs {
		putBuf(b)
	}
	putBuf(big)
	bufFree.Lock()
	defer bufFree.Unlock()
	require.Len(t, bufFree.list, maxFree)
	kept := false
	for _, b := range bufFree.list {
		kept = kept || b == big
	}
	require.True(t, kept, "the largest buffer was dropped")
}

// TestBufFreeKeepsTwoSharesPeak replays the packing-buffer requests of
// the shares of a training step, one per processor, side by side (two on
// two processors): at the peak
// each share's product is split between two workers, each part holding a
// packed B and a packed A buffer, and a transposed product holds its
// output too, all of different sizes; the shares then release them in
// varying order. Once the cycle has run, running it again must allocate
// nothing: a free list that drops some of the peak's buffers makes the
// next step allocate them again.
func TestBufFreeKeepsTwoSharesPeak(t *testing.T) {
	emptyBufFree(t)
	shares := runtime.GOMAXPROCS(0)
	var sizes []int
	for s := range shares {
		// Two parts' B and A buffers, and a transposed product's output.
		sizes = append(sizes, 65536+s*1000, 131072+s*1000, 123264+s*1000, 30976+s*1000, 65536+s*3000)
		if s%2 == 1 {
			sizes = sizes[:len(sizes)-1] // one transposed product per two shares
		}
	}
	held := make([]*buffer, len(sizes))
	turn := 0
	cycle := func() {
		for i, n := range sizes {
			held[i] = getBuf(n)
		}
		turn++
		for i := range held {
			putBuf(held[(i*7+turn)%len(held)])
		}
	}
	require.Zero(t, testalloc.PerRun(3, cycle), "allocations of warm cycles with %d buffers at the peak", len(sizes))
}

// emptyBufFree empties the packing-buffer free list for the test and puts
// its buffers back when the test ends.
func emptyBufFree(t *testing.T) {
	bufFree.Lock()
	saved := bufFree.list
	bufFree.list = nil
	bufFree.Unlock()
	t.Cleanup(func() {
		bufFree.Lock()
		bufFree.list = saved
		bufFree.Unlock()
	})
}
