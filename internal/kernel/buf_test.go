package kernel

import (
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
	bufFree.Lock()
	saved := bufFree.list
	bufFree.list = nil
	bufFree.Unlock()
	defer func() {
		bufFree.Lock()
		bufFree.list = saved
		bufFree.Unlock()
	}()
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
	bufFree.Lock()
	saved := bufFree.list
	bufFree.list = nil
	bufFree.Unlock()
	defer func() {
		bufFree.Lock()
		bufFree.list = saved
		bufFree.Unlock()
	}()
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
