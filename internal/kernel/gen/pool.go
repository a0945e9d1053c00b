package main

import "fmt"

// poolVariant is one width of the 2×2 max-pool kernels: Y registers (eight
// windows a step) or X registers (four).
type poolVariant struct {
	suffix string // name part: "Y" or "X"
	reg    string // register prefix
	n      int    // windows per step
}

var poolVariants = []poolVariant{{"Y", "Y", 8}, {"X", "X", 4}}

// genPool writes pool_amd64.s: the 2×2, stride-2 max-pool kernels of one
// plane with their winners (forward) and the dense input gradient built
// from the winners (backward). Their portable twins are maxPool2x2Portable
// and maxPool2x2GradPortable in ../pool.go.
func genPool() []byte {
	var w asm
	w.raw(header)
	// The window offsets within a row pair, in the order the shuffles leave
	// the windows: 2·[0 1 4 5 2 3 6 7] for Y (the lanes are put back in
	// order by VPERMPD), 2·[0 1 2 3] for X.
	for i, v := range []int{0, 2, 8, 10, 4, 6, 12, 14} {
		w.raw(fmt.Sprintf("DATA poolOffY<>+%d(SB)/4, $%d\n", 4*i, v))
	}
	w.raw("GLOBL poolOffY<>(SB), RODATA|NOPTR, $32\n\n")
	for i, v := range []int{0, 2, 4, 6} {
		w.raw(fmt.Sprintf("DATA poolOffX<>+%d(SB)/4, $%d\n", 4*i, v))
	}
	w.raw("GLOBL poolOffX<>(SB), RODATA|NOPTR, $16\n\n")
	for _, v := range poolVariants {
		for _, withIdx := range []bool{true, false} {
			for _, relu := range []bool{false, true} {
				genPoolForward(&w, v, withIdx, relu)
			}
		}
		for _, masked := range []bool{false, true} {
			genPoolGrad(&w, v, masked)
		}
	}
	return w.Bytes()
}

// poolName returns the name of a forward kernel.
func poolName(v poolVariant, withIdx, relu bool) string {
	name := "maxPool2x2" + v.suffix
	if !withIdx {
		name += "NoIdx"
	}
	if relu {
		name += "ReLU"
	}
	return name + "AVX2"
}

// poolPrologue loads the shared constants: the window offsets (15), ones
// (14), w (13) and zero (12), and sets up the row loop registers.
func poolPrologue(w *asm, v poolVariant) {
	r := v.reg
	w.p("VMOVDQU poolOff%s<>(SB), %s15", v.suffix, r)
	w.p("VPCMPEQD Y14, Y14, Y14")
	w.p("VPSRLD $31, Y14, Y14")
	w.p("MOVQ BX, X13")
	w.p("VPBROADCASTD X13, %s13", r)
	w.p("VXORPS Y12, Y12, Y12")
	w.p("MOVQ BX, R8")
	w.p("SHLQ $2, R8")   // row stride in bytes
	w.p("XORQ R12, R12") // offset of the row pair's first element
}

// poolIndices leaves in registers 0–3 the offsets of the four taps of the
// windows at output column R9 (top-left, top-right, bottom-left,
// bottom-right).
func poolIndices(w *asm, v poolVariant) {
	r := v.reg
	w.p("LEAQ (R12)(R9*2), R13")
	w.p("MOVQ R13, X10")
	w.p("VPBROADCASTD X10, %s10", r)
	w.p("VPADDD %s15, %s10, %s0", r, r, r)
	w.p("VPADDD %s14, %s0, %s1", r, r, r)
	w.p("VPADDD %s13, %s0, %s2", r, r, r)
	w.p("VPADDD %s14, %s2, %s3", r, r, r)
}

// poolColumnLoop emits the head of the loop over output columns: R9 steps
// by v.n and its last step is moved back to ow−n (overlapping the one
// before; the kernels are pure, so the overlap rewrites equal values).
func poolColumnLoop(w *asm, v poolVariant, name string) {
	w.p("XORQ R9, R9")
	w.p("MOVQ DX, R10")
	w.p("SUBQ $%d, R10", v.n)
	w.label(name + "_col")
	w.p("CMPQ R9, R10")
	w.p("JLE %s_go", name)
	w.p("MOVQ R10, R9")
	w.label(name + "_go")
}

func genPoolForward(w *asm, v poolVariant, withIdx, relu bool) {
	name := poolName(v, withIdx, relu)
	r := v.reg
	text(w, name+"(dst *float32, idx *int32, src *float32, oh, ow, w int)", name, "$0-48")
	w.p("MOVQ dst+0(FP), DI")
	w.p("MOVQ idx+8(FP), SI")
	w.p("MOVQ src+16(FP), AX")
	w.p("MOVQ oh+24(FP), CX")
	w.p("MOVQ ow+32(FP), DX")
	w.p("MOVQ w+40(FP), BX")
	poolPrologue(w, v)
	w.label(name + "_row")
	w.p("LEAQ (AX)(R8*1), R11")
	poolColumnLoop(w, v, name)
	off := 4 * v.n
	w.p("VMOVUPS (AX)(R9*8), %s0", r)
	w.p("VMOVUPS %d(AX)(R9*8), %s1", off, r)
	w.p("VMOVUPS (R11)(R9*8), %s2", r)
	w.p("VMOVUPS %d(R11)(R9*8), %s3", off, r)
	w.p("VSHUFPS $0x88, %s1, %s0, %s4", r, r, r)
	w.p("VSHUFPS $0xdd, %s1, %s0, %s5", r, r, r)
	w.p("VSHUFPS $0x88, %s3, %s2, %s6", r, r, r)
	w.p("VSHUFPS $0xdd, %s3, %s2, %s7", r, r, r)
	if withIdx {
		poolIndices(w, v)
	}
	// A later tap replaces the best so far when the best is not NaN and
	// the tap is not ≤ it (greater, or NaN): the first maximal tap wins,
	// or the first NaN.
	for c := 1; c <= 3; c++ {
		w.p("VCMPPS $6, %s4, %s%d, %s8", r, r, 4+c, r)
		w.p("VCMPPS $7, %s4, %s4, %s9", r, r, r)
		w.p("VANDPS %s9, %s8, %s8", r, r, r)
		w.p("VBLENDVPS %s8, %s%d, %s4, %s4", r, r, 4+c, r, r)
		if withIdx {
			w.p("VBLENDVPS %s8, %s%d, %s0, %s0", r, r, c, r, r)
		}
	}
	if relu {
		// max(best, 0) that keeps a NaN and turns −0 into +0.
		w.p("VMAXPS %s12, %s4, %s9", r, r, r)
		w.p("VCMPPS $3, %s4, %s4, %s8", r, r, r)
		w.p("VBLENDVPS %s8, %s4, %s9, %s4", r, r, r, r)
	}
	if v.n == 8 {
		w.p("VPERMPD $0xd8, Y4, Y4")
		if withIdx {
			w.p("VPERMPD $0xd8, Y0, Y0")
		}
	}
	w.p("VMOVUPS %s4, (DI)(R9*4)", r)
	if withIdx {
		w.p("VMOVDQU %s0, (SI)(R9*4)", r)
	}
	w.p("ADDQ $%d, R9", v.n)
	w.p("CMPQ R9, DX")
	w.p("JLT %s_col", name)
	w.p("LEAQ (AX)(R8*2), AX")
	w.p("LEAQ (DI)(DX*4), DI")
	if withIdx {
		w.p("LEAQ (SI)(DX*4), SI")
	}
	w.p("LEAQ (R12)(BX*2), R12")
	w.p("DECQ CX")
	w.p("JNZ %s_row", name)
	w.p("VZEROUPPER")
	w.p("RET\n")
}

func genPoolGrad(w *asm, v poolVariant, masked bool) {
	name := "maxPool2x2Grad" + v.suffix
	if masked {
		name += "Masked"
	}
	name += "AVX2"
	r := v.reg
	text(w, name+"(gx, gy *float32, idx *int32, p *float32, oh, ow, w int)", name, "$0-56")
	w.p("MOVQ gx+0(FP), AX")
	w.p("MOVQ gy+8(FP), SI")
	w.p("MOVQ idx+16(FP), DI")
	w.p("MOVQ p+24(FP), R14")
	w.p("MOVQ oh+32(FP), CX")
	w.p("MOVQ ow+40(FP), DX")
	w.p("MOVQ w+48(FP), BX")
	poolPrologue(w, v)
	w.label(name + "_row")
	w.p("LEAQ (AX)(R8*1), R11")
	poolColumnLoop(w, v, name)
	w.p("VMOVUPS (SI)(R9*4), %s4", r)
	w.p("VMOVDQU (DI)(R9*4), %s5", r)
	if masked {
		// Windows whose pooled value has all bits zero pass nothing.
		w.p("VMOVDQU (R14)(R9*4), %s6", r)
		w.p("VPCMPEQD %s12, %s6, %s6", r, r, r)
		w.p("VANDNPS %s4, %s6, %s4", r, r, r)
	}
	w.p("VADDPS %s12, %s4, %s4", r, r, r) // −0 becomes +0, as if added to a cleared gradient
	if v.n == 8 {
		// Put the windows in the order the unpacks below expect.
		w.p("VPERMPD $0xd8, Y4, Y4")
		w.p("VPERMPD $0xd8, Y5, Y5")
	}
	poolIndices(w, v)
	for c := 0; c < 4; c++ {
		w.p("VPCMPEQD %s%d, %s5, %s%d", r, c, r, r, c)
		w.p("VANDPS %s4, %s%d, %s%d", r, r, c, r, c)
	}
	w.p("VUNPCKLPS %s1, %s0, %s6", r, r, r)
	w.p("VUNPCKHPS %s1, %s0, %s7", r, r, r)
	w.p("VUNPCKLPS %s3, %s2, %s8", r, r, r)
	w.p("VUNPCKHPS %s3, %s2, %s9", r, r, r)
	off := 4 * v.n
	w.p("VMOVUPS %s6, (AX)(R9*8)", r)
	w.p("VMOVUPS %s7, %d(AX)(R9*8)", r, off)
	w.p("VMOVUPS %s8, (R11)(R9*8)", r)
	w.p("VMOVUPS %s9, %d(R11)(R9*8)", r, off)
	w.p("ADDQ $%d, R9", v.n)
	w.p("CMPQ R9, DX")
	w.p("JLT %s_col", name)
	w.p("LEAQ (AX)(R8*2), AX")
	w.p("LEAQ (SI)(DX*4), SI")
	w.p("LEAQ (DI)(DX*4), DI")
	if masked {
		w.p("LEAQ (R14)(DX*4), R14")
	}
	w.p("LEAQ (R12)(BX*2), R12")
	w.p("DECQ CX")
	w.p("JNZ %s_row", name)
	w.p("VZEROUPPER")
	w.p("RET\n")
}
