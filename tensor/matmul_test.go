package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatMulHandComputed(t *testing.T) {
	a := t32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := t32([]float32{7, 8, 9, 10, 11, 12}, 3, 2)
	requireClose(t, t32([]float32{58, 64, 139, 154}, 2, 2), MatMul(a, b, false, false))
	// aᵀ·aᵀ is [3,2]·[2,3]... use bᵀ·aᵀ = (a·b)ᵀ.
	requireClose(t, t32([]float32{58, 139, 64, 154}, 2, 2), MatMul(b, a, true, true))
}

// op returns x or its transpose stored explicitly, so that the flag path
// can be compared with a plain product.
func stored(x *Tensor, trans bool) *Tensor {
	if trans {
		return naiveT(x)
	}
	return x
}

func TestMatMulTransposeCombos(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, dims := range [][3]int{{1, 1, 1}, {2, 3, 4}, {7, 5, 3}, {16, 33, 9}, {3, 0, 2}} {
		m, k, n := dims[0], dims[1], dims[2]
		a, b := randT(r, m, k), randT(r, k, n)
		want := naiveMatMul(a, b)
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				name := fmt.Sprintf("%v/tA=%v/tB=%v", dims, ta, tb)
				got := MatMul(stored(a, ta), stored(b, tb), ta, tb)
				requireCloseTol(t, want, got, 1e-4, name)
				dst := Full(5, m, n)
				MatMulTo(dst, stored(a, ta), stored(b, tb), ta, tb)
				requireCloseTol(t, want, dst, 1e-4, name)
				// alpha·ab + beta·dst with dst = ones.
				acc := Ones(m, n)
				MatMulAcc(acc, stored(a, ta), stored(b, tb), ta, tb, 2, 3)
				requireCloseTol(t, AddScalar(MulScalar(want, 2), 3), acc, 1e-4, name)
			}
		}
	}
}

func TestMatMulBatched(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const B, m, k, n = 3, 4, 5, 6
	a, b := randT(r, B, m, k), randT(r, B, k, n)
	shared := randT(r, k, n)
	left := randT(r, m, k)
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			name := fmt.Sprintf("tA=%v/tB=%v", ta, tb)
			sa, sb, ss, sl := stack3(a, ta), stack3(b, tb), stored(shared, tb), stored(left, ta)
			got := MatMul(sa, sb, ta, tb)
			gotShared := MatMul(sa, ss, ta, tb)
			gotLeft := MatMul(sl, sb, ta, tb)
			require.Equal(t, []int{B, m, n}, got.Shape(), name)
			require.Equal(t, []int{B, m, n}, gotShared.Shape(), name)
			require.Equal(t, []int{B, m, n}, gotLeft.Shape(), name)
			for i := 0; i < B; i++ {
				ai, bi := Index(a, []int{i}).Reshape(m, k), Index(b, []int{i}).Reshape(k, n)
				requireCloseTol(t, naiveMatMul(ai, bi), Index(got, []int{i}).Reshape(m, n), 1e-4, name)
				requireCloseTol(t, naiveMatMul(ai, shared), Index(gotShared, []int{i}).Reshape(m, n), 1e-4, name)
				requireCloseTol(t, naiveMatMul(left, bi), Index(gotLeft, []int{i}).Reshape(m, n), 1e-4, name)
			}
			acc := Ones(B, m, n)
			MatMulAcc(acc, sa, sb, ta, tb, 1, 1)
			requireCloseTol(t, AddScalar(got, 1), acc, 1e-4, name)
		}
	}
}

// stack3 returns x ([B,r,c]) with each item transposed when trans is set.
func stack3(x *Tensor, trans bool) *Tensor {
	if !trans {
		return x
	}
	return Transpose(x)
}

func TestMatMulPanics(t *testing.T) {
	require.PanicsWithValue(t, "tensor.MatMul: shapes [2 3] and [4 5] are not compatible (transA=false, transB=false)",
		func() { MatMul(Zeros(2, 3), Zeros(4, 5), false, false) })
	require.PanicsWithValue(t, "tensor.MatMul: shapes [2 3] and [2 3] are not compatible (transA=false, transB=false)",
		func() { MatMul(Zeros(2, 3), Zeros(2, 3), false, false) })
	require.NotPanics(t, func() { MatMul(Zeros(2, 3), Zeros(2, 3), false, true) })
	require.PanicsWithValue(t, "tensor.MatMul: shapes [2 2 3] and [3 3 4] are not compatible (transA=false, transB=false)",
		func() { MatMul(Zeros(2, 2, 3), Zeros(3, 3, 4), false, false) })
	require.PanicsWithValue(t, "tensor.MatMul: shapes [3] and [3 4] are not compatible (transA=false, transB=false)",
		func() { MatMul(Zeros(3), Zeros(3, 4), false, false) })
	require.PanicsWithValue(t, "tensor.MatMulTo: shapes [2 3] and [3 4] (transA=false, transB=false) give [2 4], dst has shape [4 2]",
		func() { MatMulTo(Zeros(4, 2), Zeros(2, 3), Zeros(3, 4), false, false) })
	require.PanicsWithValue(t, "tensor.MatMulAcc: shapes [3 2] and [3 4] (transA=true, transB=false) give [2 4], dst has shape [3 4]",
		func() { MatMulAcc(Zeros(3, 4), Zeros(3, 2), Zeros(3, 4), true, false, 1, 1) })
}
