package main

// genPoolWgrad writes poolwgrad_amd64.s: the weight and bias gradient of a
// 3×3 single-channel convolution whose rectified output was pooled 2×2,
// summed over the pooled positions' winners (see kernel.PoolTapGrad3x3).
//
// Registers: SI the input plane, DI the pooled gradient, R8 the pooled
// values, R9 the winners, R11 the windows a row, R12 the output's width
// (ow), BX the input positions a row of winners skips (w − ow), R14 the
// input's row in bytes, CX the skip of the current pair of rows, DX the
// first offset of its second row; AX counts windows, R13 and R10 address
// a winner's taps. X0–X2 sum the three filter rows (three lanes each, the
// fourth loaded as zero), X3 the bias; X9 holds the window's gradient in
// every lane, X13 zero, X14 the three-lane load mask.
func genPoolWgrad() []byte {
	var w asm
	w.raw(header)
	w.raw(`DATA poolWgradMask<>+0(SB)/4, $0xffffffff
DATA poolWgradMask<>+4(SB)/4, $0xffffffff
DATA poolWgradMask<>+8(SB)/4, $0xffffffff
DATA poolWgradMask<>+12(SB)/4, $0
GLOBL poolWgradMask<>(SB), RODATA|NOPTR, $16

`)
	w.raw("// func poolTapGrad3x3AVX2(out *float32, x *float32, gp *float32, p *float32, idx *int32, rows, cols, ow, w int)\n")
	w.raw("TEXT ·poolTapGrad3x3AVX2(SB), NOSPLIT, $0-72\n")
	for _, l := range []string{
		"MOVQ x+8(FP), SI",
		"MOVQ gp+16(FP), DI",
		"MOVQ p+24(FP), R8",
		"MOVQ idx+32(FP), R9",
		"MOVQ cols+48(FP), R11",
		"MOVQ ow+56(FP), R12",
		"MOVQ w+64(FP), R14",
		"MOVQ R14, BX",
		"SUBQ R12, BX",
		"SHLQ $2, R14",
		"XORQ CX, CX",
		"MOVQ R12, DX",
		"VMOVUPS poolWgradMask<>(SB), X14",
		"VXORPS X13, X13, X13",
		"VXORPS X0, X0, X0",
		"VXORPS X1, X1, X1",
		"VXORPS X2, X2, X2",
		"VXORPS X3, X3, X3",
		"CMPQ rows+40(FP), $0",
		"JLE done",
		"TESTQ R11, R11",
		"JLE done",
	} {
		w.p("%s", l)
	}
	w.label("row")
	w.p("MOVQ R11, AX")
	w.label("col")
	for _, l := range []string{
		"VMOVSS (R8), X8",
		"VMOVSS (DI), X9",
		"VCMPPS $4, X13, X8, X8", // p ≠ 0 (NaN too)
		"VANDPS X8, X9, X9",
		"VBROADCASTSS X9, X9",
		"MOVLQSX (R9), R13", // the winner in the output plane
		"LEAQ (R13)(BX*1), R10",
		"CMPQ R13, DX", // on the window's second row: one more skip
		"CMOVQGE R10, R13",
		"ADDQ CX, R13",
		"LEAQ (SI)(R13*4), R13",
		"VMASKMOVPS (R13), X14, X10",
		"VFMADD231PS X10, X9, X0",
		"VMASKMOVPS (R13)(R14*1), X14, X11",
		"VFMADD231PS X11, X9, X1",
		"VMASKMOVPS (R13)(R14*2), X14, X12",
		"VFMADD231PS X12, X9, X2",
		"VADDPS X9, X3, X3",
		"ADDQ $4, R8",
		"ADDQ $4, DI",
		"ADDQ $4, R9",
		"DECQ AX",
		"JNZ col",
		"ADDQ BX, CX",
		"ADDQ BX, CX",
		"ADDQ R12, DX",
		"ADDQ R12, DX",
		"DECQ rows+40(FP)",
		"JNZ row",
	} {
		w.p("%s", l)
	}
	w.label("done")
	for _, l := range []string{
		"MOVQ out+0(FP), AX",
		"VMOVUPS X0, (AX)",
		"VMOVUPS X1, 16(AX)",
		"VMOVUPS X2, 32(AX)",
		"VMOVUPS X3, 48(AX)",
		"RET",
	} {
		w.p("%s", l)
	}
	return w.Bytes()
}
