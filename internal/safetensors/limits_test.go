package safetensors

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// manyEmpty returns a file whose header lists n empty F32 tensors, the
// shape of header that made an earlier, token-based parser allocate about
// 1.8 KB per entry.
func manyEmpty(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"__metadata__":{"format":"pt"}`)
	for i := range n {
		fmt.Fprintf(&sb, `,"layer.%d.weight":{"dtype":"F32","shape":[0,%d],"data_offsets":[0,0]}`, i, i%7)
	}
	sb.WriteString("}")
	return file(sb.String(), nil)
}

// allocs returns the bytes and objects allocated by f.
func allocs(f func()) (bytes, objects uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, after.Mallocs - before.Mallocs
}

// TestDecodeAllocationIsLinear bounds what Decode allocates for headers of
// 10k and 100k entries: a constant number of objects per tensor and a small
// multiple of the input's size, the same at both sizes, so that neither
// quadratic growth nor a heavy constant factor goes unnoticed.
func TestDecodeAllocationIsLinear(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	var perTensor [2]float64
	for i, n := range []int{10_000, 100_000} {
		in := manyEmpty(n)
		var ts []Tensor
		var err error
		b, objs := allocs(func() { ts, _, err = Decode(in) })
		require.NoError(t, err)
		require.Len(t, ts, n)
		t.Logf("%d tensors, %d-byte file: %d bytes (%.2f× the input), %d objects (%.2f per tensor)",
			n, len(in), b, float64(b)/float64(len(in)), objs, float64(objs)/float64(n))
		require.Less(t, float64(b), 4*float64(len(in)), "bytes allocated for %d tensors", n)
		require.Less(t, float64(objs), 1.5*float64(n)+100, "objects allocated for %d tensors", n)
		perTensor[i] = float64(objs) / float64(n)
	}
	require.InDelta(t, perTensor[0], perTensor[1], 0.1, "objects per tensor must not grow with the count")
}

// TestLongShapeIsLinear checks one tensor whose shape has a million
// dimensions (all 1): parsed in one pass, with memory in proportion.
func TestLongShapeIsLinear(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	dims := strings.TrimSuffix(strings.Repeat("1,", 1_000_000), ",")
	in := file(`{"t":{"dtype":"F32","shape":[`+dims+`],"data_offsets":[0,4]}}`, f32s(1))
	var ts []Tensor
	var err error
	b, _ := allocs(func() { ts, _, err = Decode(in) })
	require.NoError(t, err)
	require.Len(t, ts[0].Shape, 1_000_000)
	require.Less(t, b, uint64(12*len(in)), "8 bytes per dimension of 2 header bytes, doubled while growing")
}

func TestLimits(t *testing.T) {
	three := manyEmpty(3)
	lim := Limits{MaxTensors: 3, MaxMetadata: 1}
	ts, _, err := lim.Decode(three)
	require.NoError(t, err)
	require.Len(t, ts, 3)

	_, _, err = lim.Decode(manyEmpty(4))
	require.ErrorContains(t, err, "safetensors: header: more than 3 tensors (the limit; see Limits.MaxTensors)")
	_, _, err = Limits{MaxTensors: 2}.Read(bytes.NewReader(three))
	require.ErrorContains(t, err, "more than 2 tensors")
	path := filepath.Join(t.TempDir(), "three.safetensors")
	require.NoError(t, os.WriteFile(path, three, 0o644))
	_, _, err = Limits{MaxTensors: 2}.ReadFile(path)
	require.ErrorContains(t, err, path+": header: more than 2 tensors")

	_, _, err = lim.Decode(file(`{"__metadata__":{"a":"1","b":"2"}}`, nil))
	require.ErrorContains(t, err, "__metadata__: more than 1 entries")

	hlen := len(three) - 8
	_, _, err = Limits{MaxHeaderSize: uint64(hlen - 1)}.Decode(three)
	require.ErrorContains(t, err, fmt.Sprintf("header length %d exceeds the %d-byte limit", hlen, hlen-1))
	_, _, err = Limits{MaxHeaderSize: uint64(hlen)}.Decode(three)
	require.NoError(t, err)

	// Zero fields take the defaults.
	require.Equal(t, Limits{MaxHeaderSize, DefaultMaxTensors, DefaultMaxMetadata}, Limits{}.withDefaults())
	require.Equal(t, Limits{1, 2, 3}, Limits{1, 2, 3}.withDefaults())
}

func BenchmarkDecodeManyTensors(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		in := manyEmpty(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Decode(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/tensor")
		})
	}
}
