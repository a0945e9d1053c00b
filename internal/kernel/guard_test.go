//go:build linux && amd64 && !purego

package kernel

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// guarded returns n floats that end where an inaccessible page begins, so
// that a kernel reading or writing one float past them faults. release
// unmaps them.
func guarded(t *testing.T, n int) (s []float32, release func()) {
	ps := syscall.Getpagesize()
	size := (4*n+ps-1)/ps*ps + ps
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	require.NoError(t, syscall.Mprotect(mem[size-ps:], syscall.PROT_NONE))
	all := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), (size-ps)/4)
	return all[len(all)-n:], func() { _ = syscall.Munmap(mem) }
}

// TestGemmMaskedGuardPage runs narrow products whose B (read in place) and
// C end right before an inaccessible page, on every implementation: a
// masked kernel that loads or stores a column at or past n of the last row
// faults instead of passing unnoticed (the extra lanes never reach C).
func TestGemmMaskedGuardPage(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, m := range []int{7, 17, 64} {
		for n := 1; n <= 17; n++ {
			for _, beta := range []float32{0, 0.5} {
				k := 33
				g := newGemmCase(rng, false, false, m, n, k, 0, 1, beta)
				b, relB := guarded(t, len(g.b))
				copy(b, g.b)
				for _, im := range gemmImpls() {
					g.check(t, fmt.Sprintf("%s guarded", im.name), func(c []float32) {
						gc, relC := guarded(t, len(c))
						defer relC()
						copy(gc, c)
						gemmWith(im, false, false, m, n, k, 1, g.a, g.lda, b, g.ldb, beta, gc, g.ldc)
						copy(c, gc)
					})
				}
				relB()
			}
		}
	}
}
