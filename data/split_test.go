package data

import (
	"slices"
	"testing"

	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

func TestSplit(t *testing.T) {
	ds := seqDataset(t, 100)
	tr, va, err := Split(ds, 0.2, 1)
	require.NoError(t, err)
	require.Equal(t, 80, tr.Len())
	require.Equal(t, 20, va.Len())
	all := append(slices.Clone(tr.Indices), va.Indices...)
	slices.Sort(all)
	require.Equal(t, slices.Collect(func(yield func(int) bool) {
		for i := range 100 {
			if !yield(i) {
				return
			}
		}
	}), all)
	tr2, _, err := Split(ds, 0.2, 1)
	require.NoError(t, err)
	require.Equal(t, tr.Indices, tr2.Indices)
	tr3, _, err := Split(ds, 0.2, 2)
	require.NoError(t, err)
	require.NotEqual(t, tr.Indices, tr3.Indices)
	for _, f := range []float64{0, 1, -0.5, 2} {
		_, _, err := Split(ds, f, 1)
		require.ErrorContains(t, err, "validation fraction")
	}
	tiny := seqDataset(t, 2)
	a, b, err := Split(tiny, 0.01, 1)
	require.NoError(t, err)
	require.Equal(t, 1, a.Len())
	require.Equal(t, 1, b.Len())
}

func TestStratifiedSplit(t *testing.T) {
	// 90 examples of class 0, 10 of class 1.
	y := tensor.Zeros(100)
	for i := 90; i < 100; i++ {
		y.Data()[i] = 1
	}
	ds, err := NewTensorDataset(tensor.Zeros(100, 1), y)
	require.NoError(t, err)
	tr, va, err := StratifiedSplit(ds, 0.2, 3)
	require.NoError(t, err)
	count := func(s *Subset) (c1 int) {
		for _, l := range Labels(s) {
			c1 += l
		}
		return c1
	}
	require.Equal(t, 20, va.Len())
	require.Equal(t, 2, count(va))
	require.Equal(t, 8, count(tr))
}

func TestKFold(t *testing.T) {
	ds := seqDataset(t, 23)
	for _, strat := range []bool{false, true} {
		kf := KFold
		if strat {
			kf = StratifiedKFold
		}
		folds, err := kf(ds, 5, 1)
		require.NoError(t, err)
		require.Len(t, folds, 5)
		seen := make([]int, 23)
		for _, f := range folds {
			require.Equal(t, 23, f.Train.Len()+f.Val.Len())
			require.GreaterOrEqual(t, f.Val.Len(), 4)
			require.LessOrEqual(t, f.Val.Len(), 5)
			for _, i := range f.Val.Indices {
				seen[i]++
				require.NotContains(t, f.Train.Indices, i)
			}
		}
		for i, s := range seen {
			require.Equal(t, 1, s, "example %d", i)
		}
		again, err := kf(ds, 5, 1)
		require.NoError(t, err)
		require.Equal(t, folds[0].Val.Indices, again[0].Val.Indices)
		_, err = kf(ds, 1, 1)
		require.Error(t, err)
		_, err = kf(ds, 24, 1)
		require.Error(t, err)
	}
}
