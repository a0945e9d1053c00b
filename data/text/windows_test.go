package text

import (
	"testing"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/stretchr/testify/require"
)

// iota32 returns the stream 0, 1, ..., n-1, where a token's value is its
// position, so windows show where they were cut.
func iota32(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// checkWindow checks that x is a run of consecutive positions within
// [lo, hi) and y is x shifted by one.
func checkWindow(t *testing.T, x, y []float32, lo, hi int) {
	t.Helper()
	for j := range x {
		require.Equal(t, x[0]+float32(j), x[j])
		require.Equal(t, x[j]+1, y[j], "target j is the token after feature j")
		require.GreaterOrEqual(t, int(x[j]), lo)
		require.Less(t, int(y[j]), hi)
	}
}

func TestWindows(t *testing.T) {
	stream := iota32(100)
	ds, err := NewWindows(stream, WindowsConfig{SeqLen: 8, VocabSize: 100, Seed: 1})
	require.NoError(t, err)
	require.Equal(t, 99/8, ds.Len())
	require.Equal(t, []int{8}, ds.FeatureShape())
	require.Equal(t, []int{8}, ds.TargetShape())
	x, y := make([]float32, 8), make([]float32, 8)
	starts := map[int]bool{}
	for e := range 20 {
		ds.SetEpoch(e)
		for i := range ds.Len() {
			label := ds.Example(i, x, y)
			checkWindow(t, x, y, 0, 100)
			require.Equal(t, int(y[7]), label)
			require.Equal(t, ds.Start(i), int(x[0]))
			starts[ds.Start(i)] = true
		}
	}
	// 240 draws over 92 possible starts: the first and last are reachable.
	require.True(t, starts[0] || starts[1], "windows near the start")
	require.True(t, starts[91] || starts[90], "windows near the end (start 91 = 100-8-1)")
	for s := range starts {
		require.LessOrEqual(t, s, 91)
	}

	// Deterministic for seed and epoch, whatever the order of requests.
	ds.SetEpoch(3)
	a := ds.Start(5)
	ds.SetEpoch(4)
	b := ds.Start(5)
	ds.SetEpoch(3)
	require.Equal(t, a, ds.Start(5))
	other, err := NewWindows(stream, WindowsConfig{SeqLen: 8, VocabSize: 100, Seed: 1, PerEpoch: 50})
	require.NoError(t, err)
	other.SetEpoch(3)
	require.Equal(t, a, other.Start(5))
	require.Equal(t, 50, other.Len())
	diff := 0
	for i := range 10 {
		ds.SetEpoch(3)
		a := ds.Start(i)
		ds.SetEpoch(4)
		if ds.Start(i) != a {
			diff++
		}
	}
	require.Greater(t, diff, 5, "epochs draw different windows (start 5: %d vs %d)", a, b)
	seed2, err := NewWindows(stream, WindowsConfig{SeqLen: 8, VocabSize: 100, Seed: 2})
	require.NoError(t, err)
	same := 0
	for i := range 10 {
		ds.SetEpoch(0)
		if seed2.Start(i) == ds.Start(i) {
			same++
		}
	}
	require.Less(t, same, 5, "seeds draw different windows")
}

func TestWindowsCoverAllStarts(t *testing.T) {
	// 20 tokens, T = 8: starts 0 to 11 (window [s, s+8] must fit). 600
	// draws hit each of the 12 starts, and no other.
	ds, err := NewWindows(iota32(20), WindowsConfig{SeqLen: 8, VocabSize: 20, Seed: 9, PerEpoch: 600})
	require.NoError(t, err)
	seen := map[int]int{}
	for i := range ds.Len() {
		seen[ds.Start(i)]++
	}
	require.Len(t, seen, 12)
	for s := range 12 {
		require.Greater(t, seen[s], 20, "start %d drawn %d times of 600", s, seen[s])
	}
}

func TestWindowsSmallest(t *testing.T) {
	// T+1 tokens: exactly one window, at 0.
	ds, err := NewWindows([]int32{4, 2, 7}, WindowsConfig{SeqLen: 2, VocabSize: 8})
	require.NoError(t, err)
	require.Equal(t, 1, ds.Len())
	x, y := make([]float32, 2), make([]float32, 2)
	require.Equal(t, 7, ds.Example(0, x, y))
	require.Equal(t, []float32{4, 2}, x)
	require.Equal(t, []float32{2, 7}, y)
}

func TestSequential(t *testing.T) {
	ds, err := NewSequential(iota32(20), 6, 20)
	require.NoError(t, err)
	require.Equal(t, 3, ds.Len()) // 19 targets / 6, last partial window left out
	x, y := make([]float32, 6), make([]float32, 6)
	for i := range ds.Len() {
		ds.Example(i, x, y)
		require.Equal(t, float32(i*6), x[0], "non-overlapping windows")
		checkWindow(t, x, y, 0, 20)
	}
	require.Panics(t, func() { ds.Example(3, x, y) })
	require.Panics(t, func() { ds.Example(0, x[:5], y) })
}

func TestExactIDs(t *testing.T) {
	// The largest ids survive the trip through float32.
	big := int32(MaxExactID - 1)
	ds, err := NewSequential([]int32{big, big - 1, big}, 2, MaxExactID)
	require.NoError(t, err)
	x, y := make([]float32, 2), make([]float32, 2)
	ds.Example(0, x, y)
	require.Equal(t, int(big), int(x[0]))
	require.Equal(t, int(big-1), int(x[1]))
	require.Equal(t, int(big), int(y[1]))
}

func TestWindowErrors(t *testing.T) {
	s := iota32(10)
	cases := []struct {
		stream      []int32
		t, v        int
		want        string
		perEpochBad bool
	}{
		{s, 0, 10, "sequence length 0", false},
		{s, 10, 10, "stream of 10 tokens, want at least sequence length + 1 = 11", false},
		{nil, 1, 10, "stream of 0 tokens", false},
		{s, 4, MaxExactID + 1, "vocabulary size 16777217", false},
		{s, 4, 0, "vocabulary size 0", false},
		{s, 4, 9, "token 9 at position 9 is outside the vocabulary [0, 9)", false},
		{[]int32{1, -1, 2}, 1, 9, "token -1 at position 1", false},
		{s, 4, 10, "windows per epoch", true},
	}
	for _, c := range cases {
		cfg := WindowsConfig{SeqLen: c.t, VocabSize: c.v}
		if c.perEpochBad {
			cfg.PerEpoch = -1
		} else {
			_, err := NewSequential(c.stream, c.t, c.v)
			require.ErrorContains(t, err, c.want)
		}
		_, err := NewWindows(c.stream, cfg)
		require.ErrorContains(t, err, c.want)
	}
}

func TestSplitStream(t *testing.T) {
	s := iota32(100)
	train, val, err := SplitStream(s, 0.1)
	require.NoError(t, err)
	require.Equal(t, iota32(90), train)
	require.Equal(t, s[90:], val)
	// Appending to train must not overwrite val.
	grown := append(train, -5)
	require.Len(t, grown, 91)
	require.Equal(t, int32(90), val[0])

	tr, va, err := SplitStream(s, 0.25)
	require.NoError(t, err)
	require.Len(t, tr, 75)
	require.Len(t, va, 25)

	for _, f := range []float64{0, 1, -0.1, 1.5} {
		_, _, err := SplitStream(s, f)
		require.ErrorContains(t, err, "validation fraction")
	}
	_, _, err = SplitStream([]int32{1, 2}, 0.1)
	require.ErrorContains(t, err, "empty part")
}

func TestNoLeakAcrossSplit(t *testing.T) {
	s := iota32(1000)
	train, val, err := SplitStream(s, 0.1)
	require.NoError(t, err)
	tw, err := NewWindows(train, WindowsConfig{SeqLen: 16, VocabSize: 1000, Seed: 7, PerEpoch: 500})
	require.NoError(t, err)
	vw, err := NewSequential(val, 16, 1000)
	require.NoError(t, err)
	x, y := make([]float32, 16), make([]float32, 16)
	for e := range 4 {
		tw.SetEpoch(e)
		for i := range tw.Len() {
			tw.Example(i, x, y)
			checkWindow(t, x, y, 0, 900)
		}
	}
	for i := range vw.Len() {
		vw.Example(i, x, y)
		checkWindow(t, x, y, 900, 1000)
	}
}

func TestWindowsWithLoader(t *testing.T) {
	stream := iota32(500)
	ds, err := NewWindows(stream, WindowsConfig{SeqLen: 10, VocabSize: 500, Seed: 3, PerEpoch: 40})
	require.NoError(t, err)
	loader := data.NewLoader(ds, 16, data.Shuffle(1), data.Prefetch(1))
	require.Equal(t, 3, loader.NumBatches())
	collect := func() [][]float32 {
		var rows [][]float32
		for b := range loader.All() {
			require.Equal(t, []int{b.Size(), 10}, b.X.Shape())
			require.Equal(t, []int{b.Size(), 10}, b.Y.Shape())
			for r := range b.Size() {
				x := b.X.Data()[r*10 : (r+1)*10]
				y := b.Y.Data()[r*10 : (r+1)*10]
				checkWindow(t, x, y, 0, 500)
				require.Equal(t, int(y[9]), b.Labels[r])
				require.Equal(t, float32(ds.Start(b.Indices[r])), x[0])
				rows = append(rows, append([]float32(nil), x...))
			}
		}
		return rows
	}
	first := collect()
	require.Len(t, first, 40)
	ds.SetEpoch(1)
	second := collect()
	require.NotEqual(t, first, second)

	seq, err := NewSequential(stream, 10, 500)
	require.NoError(t, err)
	vl := data.NewLoader(seq, 8)
	n := 0
	for x, y := range vl.XY() {
		require.Equal(t, x.Shape()[1:], []int{10})
		require.Equal(t, y.Shape()[1:], []int{10})
		n += x.Shape()[0]
	}
	require.Equal(t, 49, n)
}

func TestInt32s(t *testing.T) {
	s, err := Int32s([]int{0, 5, MaxExactID - 1})
	require.NoError(t, err)
	require.Equal(t, []int32{0, 5, MaxExactID - 1}, s)
	_, err = Int32s([]int{1, MaxExactID})
	require.ErrorContains(t, err, "position 1")
	_, err = Int32s([]int{-1})
	require.ErrorContains(t, err, "position 0")
}
