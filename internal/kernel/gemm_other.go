//go:build !amd64 || purego

package kernel

import "unsafe"

// transpose8 has no assembly here: packTransposed packs every value.
func transpose8(dst, src unsafe.Pointer, sj, nr, kb int) int { return 0 }
