package tensor

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
)

// MatMulPackedAddTo adds a·op(b) to dst in place, then applies the
// epilogue: dst = act(dst + a·op(b) + bias). It is the residual connection
// of a transformer block (x += proj(h)) fused into the product's tiles, so
// that the sum costs no separate pass. dst must have the result shape (a's
// shape with the last axis n) and must not share data with a.
func MatMulPackedAddTo(dst, a *Tensor, b *Packed, ep Epilogue) {
	checkPacked("MatMulPackedAddTo", a, b, ep)
	r := len(a.shape)
	ok := len(dst.shape) == r && dst.shape[r-1] == b.Cols()
	for i := 0; ok && i < r-1; i++ {
		ok = dst.shape[i] == a.shape[i]
	}
	if !ok {
		panic(fmt.Sprintf("tensor.MatMulPackedAddTo: %v times packed [%d %d] gives [... %d], dst has shape %v",
			a.shape, b.Rows(), b.Cols(), b.Cols(), dst.shape))
	}
	k, n := b.Rows(), b.Cols()
	m := prod(a.shape[:r-1])
	var kep kernel.Epilogue
	if ep.Bias != nil {
		kep.Bias = ep.Bias.data
	}
	switch ep.Act {
	case ActReLU:
		kep.Act = kernel.ActReLU
	case ActGELU:
		kep.Act = kernel.ActGELU
	}
	kernel.GemmPacked(false, m, 1, a.data, max(k, 1), b.p, 1, dst.data, max(n, 1), kep)
}
