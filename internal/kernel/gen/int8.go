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
	w.p("LEAQ (DI)(BX*1), R11")
	w.p("LEAQ (DI)(BX*2), R12")
	w.p("LEAQ (R11)(BX*2), R13")
	wrows := []string{"DI", "R11", "R12", "R13"}
	arows := []string{"SI", "R14"}
	v := func(i int) string { return fmt.Sprintf("%s%d", s.reg, i) }
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
		w.p("%s (%s)(AX*1), %s", s.load, arows[i], v(8+i))
	}
	for j := 0; j < 4; j++ {
		w.p("%s (%s)(AX*1), %s", s.load, wrows[j], v(10))
		for i := 0; i < rows; i++ {
			acc := v(4*i + j)
			if s.suffix == "VNNI" {
				w.p("VPDPBUSD %s, %s, %s", v(10), v(8+i), acc)
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
		if i == 0 {
			w.p("VMOVDQU X%d, (R8)", b)
		} else {
			w.p("VMOVDQU X%d, (R8)(R9*1)", b)
		}
	}
	w.p("VZEROUPPER")
	w.p("RET")
	w.raw("\n")
}
