//go:build !amd64 || purego

package kernel

// int8Impls lists every int8 implementation this machine can run.
func int8Impls() []*int8Impl { return []*int8Impl{int8Portable} }

func minMaxRow(x []float32) (lo, hi float32, finite bool) { return minMaxPortable(x) }

func quantU8Row(dst []uint8, x []float32, inv, off float32) { quantU8Portable(dst, x, inv, off) }

func dequantRows(y []float32, ldy int, c []int32, ldc int, rows, n int, zp []int32, sa []float32, wsum []int32, sw, b []float32, relu bool) {
	dequantRowsGo(y, ldy, c, ldc, rows, n, zp, sa, wsum, sw, b, relu)
}

func quantRows(q []uint8, ldq int, x []float32, rows, cols int, scale []float32, zp []int32) {
	quantRowsGo(q, ldq, x, rows, cols, scale, zp)
}
