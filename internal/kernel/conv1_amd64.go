//go:build amd64 && !purego

package kernel

// conv3x3PoolAVX2 (conv1_amd64.s) convolves, pools and rectifies one
// filter over the split plane eo (rows of s elements: even columns, then
// odd ones half further on) into ph rows of pw ≥ 8 pooled values; idx
// (when not nil) receives the winners in a convolution plane of cw
// columns.
//
//go:noescape
func conv3x3PoolAVX2(dst *float32, idx *int32, eo *float32, p *conv3x3Params, ph, pw, s, half, cw int)

func conv3x3PoolFits(pw int) bool { return hasAVX2 && pw >= 8 }

func conv3x3PoolAsm(dst *float32, idx *int32, eo *float32, p *conv3x3Params, ph, pw, s, half, cw int) {
	conv3x3PoolAVX2(dst, idx, eo, p, ph, pw, s, half, cw)
}
