//go:build !amd64 || purego

package kernel

func dotRows(dst, a, b []float32, ldb int, beta float32) { dotRowsPortable(dst, a, b, ldb, beta) }
