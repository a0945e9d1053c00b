package tensor

// MatMulPackedAddTo adds a·op(b) to dst in place, then applies the
// epilogue: dst = act(dst + a·op(b) + bias). It is the residual connection
// of a transformer block (x += proj(h)) fused into the product's tiles, so
// that the sum costs no separate pass. dst must have the result shape (a's
// shape with the last axis n) and must not share data with a.
func MatMulPackedAddTo(dst, a *Tensor, b *Packed, ep Epilogue) {
	checkPackedDst("MatMulPackedAddTo", dst, a, b, ep)
	matMulPacked(dst, a, b, ep, 1)
}
