//go:build !amd64 || purego

package kernel

// int8Impls lists every int8 implementation this machine can run.
func int8Impls() []*int8Impl { return []*int8Impl{int8Portable} }

func minMaxRow(x []float32) (lo, hi float32, finite bool) { return minMaxPortable(x) }

func quantU8Row(dst []uint8, x []float32, inv, off float32) { quantU8Portable(dst, x, inv, off) }

func dequantRow(y []float32, c, wsum []int32, zp int32, sa float32, sw, b []float32, relu bool) {
	dequantPortable(y, c, wsum, zp, sa, sw, b, relu)
}
