package main

import "fmt"

// int8Spec describes one family of int8 dot-product kernels: AVX2 with
// VPMADDUBSW+VPMADDWD on YMM (32 bytes a step) or AVX-512 VNNI with
// VPDPBUSD on ZMM (64 bytes a step).
type int8Spec struct {
	suffix string // kernel set suffix: AVX2 or VNNI
	step   int    // bytes of k per loop iteration
	reg    string // Y or Z
	load   string // load mnemonic
	zero   string // zeroing instruction
}

var (
	int8AVX2 = int8Spec{suffix: "AVX2", step: 32, reg: "Y", load: "VMOVDQU", zero: "VPXOR"}
	int8VNNI = int8Spec{suffix: "VNNI", step: 64, reg: "Z", load: "VMOVDQU64", zero: "VPXORD"}
)

// genInt8 writes int8_amd64.s: kernels dotU8I8RxC<set> computing an R×4
// block C[i·ldc+j] = Σ_p A[i·lda+p]·W[j·ldw+p] for R = 1, 2 rows of
// unsigned activations A and 4 rows of signed weights W, over k bytes, k a
// positive multiple of the step (32 for AVX2, 64 for VNNI). C is
// overwritten.
//
// The AVX2 kernel multiplies with VPMADDUBSW, which adds adjacent u8·s8
// products into int16 with signed saturation, then widens pairs with
// VPMADDWD by ones into int32. Activations must be at most 127 so that a
// pair, at most 2·127·128 = 32512 in magnitude, never saturates; the sums
// are then exact. VPDPBUSD adds four products straight into int32 and
// cannot saturate.
func genInt8() []byte {
	var w asm
	w.raw(header)
	for _, s := range []int8Spec{int8AVX2, int8VNNI} {
		for _, rows := range []int{1, 2} {
			genInt8Kernel(&w, s, rows)
		}
	}
	// With 32 ZMM registers VNNI also has a 4×4 block: 16 accumulators,
	// 4 A rows and a W row, 16 VPDPBUSD per 8 loads.
	genInt8Kernel(&w, int8VNNI, 4)
	genQuantU8(&w)
	return w.Bytes()
}

func genInt8Kernel(w *asm, s int8Spec, rows int) {
	name := fmt.Sprintf("dotU8I8x%dx4%s", rows, s.suffix)
	fmt.Fprintf(&w.Buffer, "// func %s(k int, a *uint8, lda int, w *int8, ldw int, c *int32, ldc int)\n", name)
	fmt.Fprintf(&w.Buffer, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	// Register roles: CX k, AX byte offset p, SI row 0 of A, R14 row 1 of
	// A, DI R11 R12 R13 rows 0-3 of W, R8 row 0 of C, R9 ldc in bytes.
	// Vector registers: 0..4·rows-1 accumulators (row i, column j in
	// 4i+j), 8 and 9 the A rows, 10 a W row, 11 and 12 products, 13 the
	// int16 ones (AVX2).
	w.p("MOVQ k+0(FP), CX")
	w.p("MOVQ a+8(FP), SI")
	w.p("MOVQ lda+16(FP), DX")
	w.p("MOVQ w+24(FP), DI")
	w.p("MOVQ ldw+32(FP), BX")
	w.p("MOVQ c+40(FP), R8")
	w.p("MOVQ ldc+48(FP), R9")
	w.p("SHLQ $2, R9")
	w.p("LEAQ (SI)(DX*1), R14")
	if rows == 4 {
		w.p("LEAQ (SI)(DX*2), R10")
		w.p("LEAQ (R14)(DX*2), R15")
	}
	w.p("LEAQ (DI)(BX*1), R11")
	w.p("LEAQ (DI)(BX*2), R12")
	w.p("LEAQ (R11)(BX*2), R13")
	wrows := []string{"DI", "R11", "R12", "R13"}
	arows := []string{"SI", "R14", "R10", "R15"}
	v := func(i int) string { return fmt.Sprintf("%s%d", s.reg, i) }
	// A rows in 8, 9 and W in 10, or, for four rows (ZMM only), A in
	// 16..19 and W in 20.
	areg, wreg := 8, 10
	if rows == 4 {
		areg, wreg = 16, 20
	}
	for i := 0; i < 4*rows; i++ {
		w.p("%s %s, %s, %s", s.zero, v(i), v(i), v(i))
	}
	if s.suffix == "AVX2" {
		w.p("VPCMPEQW Y13, Y13, Y13")
		w.p("VPSRLW $15, Y13, Y13")
	}
	w.p("MOVQ $0, AX")
	w.label(name + "_loop")
	for i := 0; i < rows; i++ {
		w.p("%s (%s)(AX*1), %s", s.load, arows[i], v(areg+i))
	}
	for j := 0; j < 4; j++ {
		w.p("%s (%s)(AX*1), %s", s.load, wrows[j], v(wreg))
		for i := 0; i < rows; i++ {
			acc := v(4*i + j)
			if s.suffix == "VNNI" {
				w.p("VPDPBUSD %s, %s, %s", v(wreg), v(areg+i), acc)
				continue
			}
			t := v(11 + i)
			w.p("VPMADDUBSW %s, %s, %s", v(10), v(8+i), t)
			w.p("VPMADDWD Y13, %s, %s", t, t)
			w.p("VPADDD %s, %s, %s", t, acc, acc)
		}
	}
	w.p("ADDQ $%d, AX", s.step)
	w.p("CMPQ AX, CX")
	w.p("JB %s_loop", name)
	if s.suffix == "VNNI" {
		// Fold each ZMM accumulator onto its low YMM half.
		for i := 0; i < 4*rows; i++ {
			if rows == 4 {
				// No free low register: add the high half in ZMM.
				w.p("VSHUFI64X2 $0x0e, Z%d, Z%d, Z21", i, i)
				w.p("VPADDD Z21, Z%d, Z%d", i, i)
				continue
			}
			w.p("VEXTRACTI64X4 $1, Z%d, Y8", i)
			w.p("VPADDD Y8, Y%d, Y%d", i, i)
		}
	}
	// Horizontal sums: two rounds of VPHADDD leave, per 128-bit lane,
	// the partial sums of the four columns in order; the lanes are then
	// added.
	for i := 0; i < rows; i++ {
		b := 4 * i
		w.p("VPHADDD Y%d, Y%d, Y%d", b+1, b, b)
		w.p("VPHADDD Y%d, Y%d, Y%d", b+3, b+2, b+2)
		w.p("VPHADDD Y%d, Y%d, Y%d", b+2, b, b)
		w.p("VEXTRACTI128 $1, Y%d, X%d", b, b+1)
		w.p("VPADDD X%d, X%d, X%d", b+1, b, b)
		switch i {
		case 0:
			w.p("VMOVDQU X%d, (R8)", b)
		case 1:
			w.p("VMOVDQU X%d, (R8)(R9*1)", b)
		case 2:
			w.p("LEAQ (R8)(R9*2), R10")
			w.p("VMOVDQU X%d, (R10)", b)
		default:
			w.p("VMOVDQU X%d, (R10)(R9*1)", b)
		}
	}
	w.p("VZEROUPPER")
	w.p("RET")
	w.raw("\n")
}

// genQuantU8 writes the AVX2 activation quantiser kernels:
//
// minMaxAVX2(x *float32, n int, out *[24]float32) writes, per lane, the
// minimum (starting from 0), the maximum (from 0) and Σ(x−x) (NaN when
// some x is NaN or infinite) of x[:n], n a positive multiple of 8.
//
// quantU8AVX2(x *float32, n int, inv, off float32, q *uint8) writes
// q[i] = clamp(int32(float32(x[i]·inv) + off), 0, 127) for n a positive
// multiple of 32: multiply and add round separately, as in the Go twin.
func genQuantU8(w *asm) {
	w.raw("// func minMaxAVX2(x *float32, n int, out *[24]float32)\n")
	w.raw("TEXT ·minMaxAVX2(SB), NOSPLIT, $0-24\n")
	w.p("MOVQ x+0(FP), SI")
	w.p("MOVQ n+8(FP), CX")
	w.p("MOVQ out+16(FP), DI")
	for _, r := range []string{"Y0", "Y1", "Y2", "Y4", "Y5", "Y6"} {
		w.p("VXORPS %s, %s, %s", r, r, r)
	}
	w.p("MOVQ $0, AX")
	w.p("TESTQ $8, CX")
	w.p("JZ minMaxAVX2_pairs")
	// An odd block of 8 first, so the loop takes 16 a step.
	w.p("VMOVUPS (SI), Y3")
	w.p("VMINPS Y3, Y0, Y0")
	w.p("VMAXPS Y3, Y1, Y1")
	w.p("VSUBPS Y3, Y3, Y3")
	w.p("VADDPS Y3, Y2, Y2")
	w.p("MOVQ $8, AX")
	w.label("minMaxAVX2_pairs")
	w.p("CMPQ AX, CX")
	w.p("JAE minMaxAVX2_done")
	w.label("minMaxAVX2_loop")
	w.p("VMOVUPS (SI)(AX*4), Y3")
	w.p("VMOVUPS 32(SI)(AX*4), Y7")
	w.p("VMINPS Y3, Y0, Y0")
	w.p("VMAXPS Y3, Y1, Y1")
	w.p("VMINPS Y7, Y4, Y4")
	w.p("VMAXPS Y7, Y5, Y5")
	w.p("VSUBPS Y3, Y3, Y3")
	w.p("VSUBPS Y7, Y7, Y7")
	w.p("VADDPS Y3, Y2, Y2")
	w.p("VADDPS Y7, Y6, Y6")
	w.p("ADDQ $16, AX")
	w.p("CMPQ AX, CX")
	w.p("JB minMaxAVX2_loop")
	w.label("minMaxAVX2_done")
	w.p("VMINPS Y4, Y0, Y0")
	w.p("VMAXPS Y5, Y1, Y1")
	w.p("VADDPS Y6, Y2, Y2")
	w.p("VMOVUPS Y0, (DI)")
	w.p("VMOVUPS Y1, 32(DI)")
	w.p("VMOVUPS Y2, 64(DI)")
	w.p("VZEROUPPER")
	w.p("RET")
	w.raw("\n")

	// VPACKSSDW and VPACKUSWB interleave 128-bit lanes; VPERMD with this
	// index puts the 32 bytes back in order.
	for i, v := range []int{0, 4, 1, 5, 2, 6, 3, 7} {
		w.raw(fmt.Sprintf("DATA quantPerm<>+%d(SB)/4, $%d\n", 4*i, v))
	}
	w.raw("GLOBL quantPerm<>(SB), RODATA|NOPTR, $32\n\n")
	for i := 0; i < 4; i++ {
		w.raw(fmt.Sprintf("DATA quantMax<>+%d(SB)/8, $0x7f7f7f7f7f7f7f7f\n", 8*i))
	}
	w.raw("GLOBL quantMax<>(SB), RODATA|NOPTR, $32\n\n")
	w.raw("// func quantU8AVX2(x *float32, n int, inv, off float32, q *uint8)\n")
	w.raw("TEXT ·quantU8AVX2(SB), NOSPLIT, $0-32\n")
	w.p("MOVQ x+0(FP), SI")
	w.p("MOVQ n+8(FP), CX")
	w.p("VBROADCASTSS inv+16(FP), Y8")
	w.p("VBROADCASTSS off+20(FP), Y9")
	w.p("MOVQ q+24(FP), DI")
	w.p("VMOVDQU quantPerm<>(SB), Y10")
	w.p("VMOVDQU quantMax<>(SB), Y11")
	w.p("MOVQ $0, AX")
	w.label("quantU8AVX2_loop")
	for i := 0; i < 4; i++ {
		w.p("VMULPS %d(SI)(AX*4), Y8, Y%d", 32*i, i)
		w.p("VADDPS Y9, Y%d, Y%d", i, i)
		w.p("VCVTTPS2DQ Y%d, Y%d", i, i)
	}
	w.p("VPACKSSDW Y1, Y0, Y0")
	w.p("VPACKSSDW Y3, Y2, Y2")
	w.p("VPACKUSWB Y2, Y0, Y0")
	w.p("VPERMD Y0, Y10, Y0")
	w.p("VPMINUB Y11, Y0, Y0")
	w.p("VMOVDQU Y0, (DI)(AX*1)")
	w.p("ADDQ $32, AX")
	w.p("CMPQ AX, CX")
	w.p("JB quantU8AVX2_loop")
	w.p("VZEROUPPER")
	w.p("RET")
	w.raw("\n")
}
