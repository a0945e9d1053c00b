package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/testalloc"
	"github.com/stretchr/testify/require"
)

// refBatchMatMul computes op(a)·op(b) with broadcast batch axes by looping
// over every output batch index with float64 sums.
func refBatchMatMul(a, b *Tensor, ta, tb bool) *Tensor {
	ra, rb := a.Rank(), b.Rank()
	m, k := a.shape[ra-2], a.shape[ra-1]
	if ta {
		m, k = k, m
	}
	n := b.shape[rb-1]
	if tb {
		n = b.shape[rb-2]
	}
	batch, ok := BroadcastShape(a.shape[:ra-2], b.shape[:rb-2])
	if !ok {
		panic("refBatchMatMul: batch does not broadcast")
	}
	out := Zeros(append(append([]int(nil), batch...), m, n)...)
	nb := 1
	for _, d := range batch {
		nb *= d
	}
	for bi := 0; bi < nb; bi++ {
		idx := unravel(bi, batch)
		pick := func(t *Tensor, i, j int, trans bool) float32 {
			if trans {
				i, j = j, i
			}
			full := make([]int, t.Rank())
			lead := len(idx) - (t.Rank() - 2)
			for d := 0; d < t.Rank()-2; d++ {
				if t.shape[d] != 1 {
					full[d] = idx[lead+d]
				}
			}
			full[t.Rank()-2], full[t.Rank()-1] = i, j
			return t.At(full...)
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				s := 0.0
				for p := 0; p < k; p++ {
					s += float64(pick(a, i, p, ta)) * float64(pick(b, p, j, tb))
				}
				out.data[(bi*m+i)*n+j] = float32(s)
			}
		}
	}
	return out
}

// swapLast returns the shape with its last two axes exchanged.
func swapLast(s []int) []int {
	s = append([]int(nil), s...)
	s[len(s)-1], s[len(s)-2] = s[len(s)-2], s[len(s)-1]
	return s
}

func TestMatMulBroadcastBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	cases := []struct{ a, b []int }{
		{[]int{2, 3, 4, 5}, []int{2, 3, 5, 6}}, // [B,H,T,D]·[B,H,D,S]
		{[]int{2, 3, 4, 5}, []int{5, 6}},       // [B,H,T,D]·[D,E] (folded rows)
		{[]int{3, 4, 5}, []int{5, 6}},
		{[]int{4, 5}, []int{2, 3, 5, 6}},       // shared left operand
		{[]int{2, 1, 4, 5}, []int{3, 5, 6}},    // broadcast both ways
		{[]int{1, 3, 4, 5}, []int{2, 1, 5, 6}}, // 1s on both sides
		{[]int{2, 3, 1, 5}, []int{2, 3, 5, 1}}, // vector-like matrices
		{[]int{2, 0, 4, 5}, []int{1, 5, 6}},    // empty batch
	}
	for _, c := range cases {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				name := fmt.Sprintf("%v·%v/tA=%v/tB=%v", c.a, c.b, ta, tb)
				as, bs := c.a, c.b
				if ta {
					as = swapLast(as)
				}
				if tb {
					bs = swapLast(bs)
				}
				a, b := randT(r, as...), randT(r, bs...)
				want := refBatchMatMul(a, b, ta, tb)
				got := MatMul(a, b, ta, tb)
				require.Equal(t, want.Shape(), got.Shape(), name)
				requireCloseTol(t, want, got, 1e-4, name)
				acc := Ones(want.Shape()...)
				MatMulAcc(acc, a, b, ta, tb, 2, 3)
				requireCloseTol(t, AddScalar(MulScalar(want, 2), 3), acc, 1e-4, name)
			}
		}
	}
}

func TestMatMulAccReduce(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	cases := []struct{ a, b, dst []int }{
		{[]int{3, 4, 5}, []int{3, 5, 6}, []int{4, 6}},          // sum over the batch (k-folded when tA)
		{[]int{2, 3, 4, 5}, []int{2, 3, 5, 6}, []int{3, 4, 6}}, // drop a leading axis
		{[]int{2, 3, 4, 5}, []int{2, 3, 5, 6}, []int{2, 1, 4, 6}},
		{[]int{2, 3, 4, 5}, []int{5, 6}, []int{2, 3, 4, 6}}, // no reduction
		{[]int{2, 3, 4, 5}, []int{5, 6}, []int{1, 4, 6}},
	}
	for _, c := range cases {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				name := fmt.Sprintf("%v·%v→%v/tA=%v/tB=%v", c.a, c.b, c.dst, ta, tb)
				as, bs := c.a, c.b
				if ta {
					as = swapLast(as)
				}
				if tb {
					bs = swapLast(bs)
				}
				a, b := randT(r, as...), randT(r, bs...)
				full := refBatchMatMul(a, b, ta, tb)
				want := SumTo(full, c.dst...)
				for _, beta := range []float32{0, 1, 0.5} {
					dst := Full(2, c.dst...)
					MatMulAccReduce(dst, a, b, ta, tb, 1.5, beta)
					requireCloseTol(t, AddScalar(MulScalar(want, 1.5), 2*beta), dst, 1e-4, name)
				}
			}
		}
	}
	require.PanicsWithValue(t, "tensor.MatMulAccReduce: shapes [3 4 5] and [3 5 6] (transA=false, transB=false) give [3 4 6], which does not reduce to dst shape [2 4 6]",
		func() { MatMulAccReduce(Zeros(2, 4, 6), Zeros(3, 4, 5), Zeros(3, 5, 6), false, false, 1, 0) })
	require.PanicsWithValue(t, "tensor.MatMulTo: shapes [3 4 5] and [3 5 6] (transA=false, transB=false) give [3 4 6], dst has shape [4 6]",
		func() { MatMulTo(Zeros(4, 6), Zeros(3, 4, 5), Zeros(3, 5, 6), false, false) })
	require.PanicsWithValue(t, "tensor.MatMul: shapes [2 3 4 5] and [3 2 5 6] are not compatible (transA=false, transB=false)",
		func() { MatMul(Zeros(2, 3, 4, 5), Zeros(3, 2, 5, 6), false, false) })
}

// TestMatMulBatchParallel covers the path that spreads many small products
// over the workers.
func TestMatMulBatchParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	a, b := randT(r, 8, 8, 32, 16), randT(r, 8, 8, 32, 16)
	want := refBatchMatMul(a, b, false, true)
	requireCloseTol(t, want, MatMul(a, b, false, true), 1e-4, "parallel")
}

func TestMatMulToAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector")
	}
	r := rand.New(rand.NewPCG(27, 28))
	a, b := randT(r, 2, 3, 4, 5), randT(r, 2, 3, 6, 5)
	dst := Zeros(2, 3, 4, 6)
	w := randT(r, 7, 5)
	dst2 := Zeros(2, 3, 4, 7)
	n := testalloc.PerRun(10, func() {
		MatMulTo(dst, a, b, false, true)
		MatMulTo(dst2, a, w, false, true)
	})
	require.Zero(t, n)
}
