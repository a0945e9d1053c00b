//go:build !amd64 || purego

package kernel

import "unsafe"

// transpose8 has no assembly here: packTransposed packs every value.
func transpose8(dst, src unsafe.Pointer, sj, nr, kb int) int { return 0 }

// gemvCols has no assembly here: gemv computes every column.
func gemvCols(a, b []float32, ldb int, dst []float32) int { return 0 }

// dotRows has no assembly here: gemv computes every dot product.
func dotRows(a, b []float32, ldb int, dst []float32) (rows, k8 int) { return 0, 0 }
