package data

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// seqDataset returns a TensorDataset of n examples of shape [2, 3] whose
// values encode the example index, with class-id targets i % 10.
func seqDataset(t testing.TB, n int) *TensorDataset {
	x := tensor.Zeros(n, 2, 3)
	y := tensor.Zeros(n)
	for i := range n {
		for j := range 6 {
			x.Data()[i*6+j] = float32(i*6 + j)
		}
		y.Data()[i] = float32(i % 10)
	}
	ds, err := NewTensorDataset(x, y)
	require.NoError(t, err)
	return ds
}

// plainDataset hides the TensorDataset type, forcing the generic path.
type plainDataset struct{ Dataset }

func TestLoaderCoversEveryExampleOnce(t *testing.T) {
	ds := seqDataset(t, 103)
	sub, err := NewSubset(ds, []int{5, 3, 100, 7, 9, 11, 13, 0, 1})
	require.NoError(t, err)
	cases := []struct {
		name     string
		ds       Dataset
		bs       int
		opts     []Option
		batches  int
		lastSize int
	}{
		{"ordered", ds, 10, nil, 11, 3},
		{"shuffled", ds, 10, []Option{Shuffle(1)}, 11, 3},
		{"drop last", ds, 10, []Option{Shuffle(1), DropLast()}, 10, 10},
		{"prefetch", ds, 10, []Option{Shuffle(2), Prefetch(2)}, 11, 3},
		{"prefetch drop", ds, 16, []Option{Prefetch(1), DropLast()}, 6, 16},
		{"generic", plainDataset{ds}, 10, []Option{Shuffle(3)}, 11, 3},
		{"generic prefetch", plainDataset{ds}, 7, []Option{Prefetch(3)}, 15, 5},
		{"subset", sub, 4, []Option{Shuffle(4)}, 3, 1},
		{"exact", ds, 103, nil, 1, 103},
		{"bigger than data", ds, 500, nil, 1, 103},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := NewLoader(c.ds, c.bs, c.opts...)
			require.Equal(t, c.batches, l.NumBatches())
			require.Equal(t, c.batches, l.Len())
			for range 2 {
				seen := map[int]int{}
				nb := 0
				for b := range l.All() {
					require.Equal(t, nb, b.Index)
					m := b.Size()
					if nb == c.batches-1 {
						require.Equal(t, c.lastSize, m)
					} else {
						require.Equal(t, c.bs, m)
					}
					require.Equal(t, []int{m, 2, 3}, b.X.Shape())
					require.Equal(t, []int{m}, b.Y.Shape())
					for j, i := range b.Indices {
						seen[i]++
						var want int
						switch d := c.ds.(type) {
						case *Subset:
							want = d.Indices[i]
						default:
							want = i
						}
						require.Equal(t, float32(want*6), b.X.Data()[j*6], "row %d of batch %d", j, nb)
						require.Equal(t, float32(want%10), b.Y.Data()[j])
						require.Equal(t, want%10, b.Labels[j])
					}
					nb++
				}
				require.Equal(t, c.batches, nb)
				require.Len(t, seen, l.NumExamples())
				for i, k := range seen {
					require.Equal(t, 1, k, "example %d", i)
				}
			}
		})
	}
}

func epochOrder(l *Loader) []int {
	var out []int
	for b := range l.All() {
		out = append(out, b.Indices...)
	}
	return out
}

func TestLoaderShuffleReproducible(t *testing.T) {
	ds := seqDataset(t, 200)
	a := NewLoader(ds, 32, Shuffle(7))
	b := NewLoader(ds, 32, Shuffle(7), Prefetch(2))
	c := NewLoader(ds, 32, Shuffle(8))
	a0, a1 := epochOrder(a), epochOrder(a)
	require.Equal(t, a0, epochOrder(b), "same seed, same order (with or without prefetch)")
	require.Equal(t, a1, epochOrder(b))
	require.NotEqual(t, a0, a1, "each epoch draws a new order")
	require.NotEqual(t, a0, epochOrder(c), "another seed, another order")
	require.False(t, slices.IsSorted(a0))
	// Resuming at epoch 1 gives epoch 1's order.
	d := NewLoader(ds, 32, Shuffle(7))
	d.SetEpoch(1)
	require.Equal(t, a1, epochOrder(d))
	require.Equal(t, 2, d.Epoch())
}

func TestLoaderXYAndReuse(t *testing.T) {
	ds := seqDataset(t, 10)
	l := NewLoader(ds, 4)
	var xs []*tensor.Tensor
	for x, y := range l.XY() {
		require.Equal(t, x.Shape()[0], y.Shape()[0])
		xs = append(xs, x)
	}
	require.Len(t, xs, 3)
	// Full batches share one buffer: documented reuse.
	require.Same(t, &xs[0].Data()[0], &xs[1].Data()[0])
}

// The tests below check the Loader's own producer goroutine through its
// live count, which stop() brings to zero before the loop statement
// returns: no comparison with runtime.NumGoroutine, which other tests'
// goroutines can move at any time.

func TestLoaderEarlyBreakNoLeak(t *testing.T) {
	ds := seqDataset(t, 1000)
	l := NewLoader(ds, 8, Shuffle(1), Prefetch(3))
	for range 50 {
		k := 0
		for range l.All() {
			require.Equal(t, int32(1), l.producers.Load(), "prefetch runs a producer")
			k++
			if k == 3 {
				break
			}
		}
		// The producer is stopped before the loop statement returns.
		require.Zero(t, l.producers.Load(), "the producer outlived the loop")
	}
	// The loader still works after an early break.
	require.Len(t, epochOrder(l), 1000)
	require.Zero(t, l.producers.Load())
}

func TestLoaderBodyPanicStopsProducer(t *testing.T) {
	ds := seqDataset(t, 1000)
	for _, prefetch := range []int{1, 3} {
		l := NewLoader(ds, 8, Shuffle(1), Prefetch(prefetch))
		for range 20 {
			require.PanicsWithValue(t, "body", func() {
				for b := range l.All() {
					if b.Index == 2 {
						panic("body")
					}
				}
			})
			// The producer was stopped while the panic unwound the loop.
			require.Zero(t, l.producers.Load(), "the producer outlived a panicking loop")
		}
		// The loader is free again and still works.
		require.Len(t, epochOrder(l), 1000)
	}
}

func TestLoaderPrefetchPanicPropagates(t *testing.T) {
	ds := seqDataset(t, 100)
	boom := TransformFunc(func(b *Batch, _ *rand.Rand) {
		if b.Index == 2 {
			panic("boom")
		}
	})
	l := NewLoader(ds, 10, Prefetch(2), WithTransform(boom, 1))
	require.PanicsWithValue(t, "boom", func() {
		for range l.All() {
		}
	})
	require.Zero(t, l.producers.Load())
}

func TestLoaderConcurrentIterationPanics(t *testing.T) {
	l := NewLoader(seqDataset(t, 10), 2)
	require.Panics(t, func() {
		for range l.All() {
			for range l.All() {
			}
		}
	})
	require.Panics(t, func() { NewLoader(seqDataset(t, 1), 0) })
}

func TestLoaderTransformSeeded(t *testing.T) {
	ds := seqDataset(t, 50)
	run := func(opts ...Option) []float32 {
		noise := TransformFunc(func(b *Batch, r *rand.Rand) {
			for i := range b.X.Data() {
				b.X.Data()[i] += r.Float32()
			}
		})
		l := NewLoader(ds, 8, append(opts, WithTransform(noise, 9))...)
		var out []float32
		for range 2 {
			for b := range l.All() {
				out = append(out, b.X.Data()...)
			}
		}
		return out
	}
	a := run()
	require.Equal(t, a, run(Prefetch(2)))
	require.NotEqual(t, a[:len(a)/2], a[len(a)/2:], "each epoch gets new random numbers")
	// The dataset itself is untouched.
	require.Equal(t, float32(6), ds.X().Data()[6])
}

func TestNewTensorDatasetErrors(t *testing.T) {
	_, err := NewTensorDataset(tensor.Zeros(3, 2), tensor.Zeros(4))
	require.ErrorContains(t, err, "3 feature rows")
	_, err = NewTensorDataset(tensor.Zeros(3, 2), tensor.Zeros(3, 2, 2))
	require.ErrorContains(t, err, "targets need shape")
	_, err = NewTensorDataset(nil, tensor.Zeros(3))
	require.Error(t, err)
	_, err = NewSubset(seqDataset(t, 3), []int{0, 3})
	require.ErrorContains(t, err, "index 3")
}

func TestOneHotTargetsAndLabels(t *testing.T) {
	y, err := OneHot([]int{2, 0, 1}, 3)
	require.NoError(t, err)
	ds, err := NewTensorDataset(tensor.Zeros(3, 4), y)
	require.NoError(t, err)
	require.Equal(t, []int{2, 0, 1}, Labels(ds))
	require.Equal(t, []int{2, 0, 1}, Labels(plainDataset{ds}))
	l := NewLoader(ds, 2)
	for b := range l.All() {
		require.Equal(t, []int{b.Size(), 3}, b.Y.Shape())
	}
	x, yy, lab := Get(ds, 0)
	require.Equal(t, []int{4}, x.Shape())
	require.Equal(t, []float32{0, 0, 1}, yy.Data())
	require.Equal(t, 2, lab)
	_, err = OneHot([]int{3}, 3)
	require.ErrorContains(t, err, "label 3 at index 0")
}

// BenchmarkLoaderEpoch measures one shuffled epoch of batches of 64 over
// MNIST-sized data (48,000 × 784).
func BenchmarkLoaderEpoch(b *testing.B) {
	const n, f = 48000, 784
	x := tensor.Zeros(n, 1, 28, 28)
	y := tensor.Zeros(n)
	for i := range y.Data() {
		y.Data()[i] = float32(i % 10)
	}
	ds, err := NewTensorDataset(x, y)
	require.NoError(b, err)
	for _, c := range []struct {
		name string
		opts []Option
	}{
		{"shuffle", []Option{Shuffle(1)}},
		{"shuffle-prefetch2", []Option{Shuffle(1), Prefetch(2)}},
		{"ordered", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := NewLoader(ds, 64, c.opts...)
			b.ReportAllocs()
			b.SetBytes(n * f * 4)
			for b.Loop() {
				for bt := range l.All() {
					_ = bt
				}
			}
		})
	}
}

// TestLoaderHugeBatchSize catches buffers sized by the requested batch size
// rather than by the dataset (1<<24 rows of 6 floats for 40 examples) and
// the overflow of (n + bs − 1) / bs at math.MaxInt.
func TestLoaderHugeBatchSize(t *testing.T) {
	ds := seqDataset(t, 40)
	for _, bs := range []int{40, 41, 1 << 24, math.MaxInt} {
		l := NewLoader(ds, bs, Shuffle(1), Prefetch(1))
		require.Equal(t, 1, l.NumBatches(), "batch size %d", bs)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		n := 0
		for b := range l.All() {
			n += b.Size()
		}
		runtime.ReadMemStats(&after)
		require.Equal(t, 40, n)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "batch size %d", bs)
	}
}
