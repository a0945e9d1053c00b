package main

// genAffine writes affine_amd64.s: the element-wise passes of batch norm
// (see kernel.ScaleShift, kernel.ScaleAdd2 and kernel.ReLUMaskSums),
// eight values a step, n a positive multiple of 8.
func genAffine() []byte {
	var w asm
	w.raw(header)
	for _, relu := range []bool{false, true} {
		name := "scaleShiftAVX2"
		if relu {
			name = "scaleShiftReLUAVX2"
		}
		w.raw("// func " + name + "(dst, x *float32, a, b float32, n int)\n")
		w.raw("TEXT ·" + name + "(SB), NOSPLIT, $0-32\n")
		w.p("MOVQ dst+0(FP), DI")
		w.p("MOVQ x+8(FP), SI")
		w.p("VBROADCASTSS a+16(FP), Y14")
		w.p("VBROADCASTSS b+20(FP), Y13")
		w.p("VXORPS Y12, Y12, Y12")
		w.p("MOVQ n+24(FP), CX")
		w.label(name + "_loop")
		w.p("VMOVUPS (SI), Y0")
		w.p("VFMADD213PS Y13, Y14, Y0") // a·x + b
		if relu {
			// The second source wins a NaN and a tie of zeros: NaN
			// stays, −0 is made +0 by the addition.
			w.p("VMAXPS Y0, Y12, Y0")
			w.p("VADDPS Y12, Y0, Y0")
		}
		w.p("VMOVUPS Y0, (DI)")
		w.p("ADDQ $32, SI")
		w.p("ADDQ $32, DI")
		w.p("SUBQ $8, CX")
		w.p("JNZ " + name + "_loop")
		w.p("VZEROUPPER")
		w.p("RET")
		w.raw("\n")
	}
	w.raw("// func scaleAdd2AVX2(dst, dy, x *float32, a, b, c float32, n int)\n")
	w.raw("TEXT ·scaleAdd2AVX2(SB), NOSPLIT, $0-48\n")
	for _, l := range []string{
		"MOVQ dst+0(FP), DI",
		"MOVQ dy+8(FP), DX",
		"MOVQ x+16(FP), SI",
		"VBROADCASTSS a+24(FP), Y15",
		"VBROADCASTSS b+28(FP), Y14",
		"VBROADCASTSS c+32(FP), Y13",
		"MOVQ n+40(FP), CX",
	} {
		w.p("%s", l)
	}
	w.label("scaleAdd2_loop")
	for _, l := range []string{
		"VMOVUPS (SI), Y0",
		"VFMADD213PS Y13, Y14, Y0", // b·x + c
		"VMOVUPS (DX), Y1",
		"VFMADD231PS Y1, Y15, Y0", // + a·g
		"VMOVUPS Y0, (DI)",
		"ADDQ $32, SI",
		"ADDQ $32, DX",
		"ADDQ $32, DI",
		"SUBQ $8, CX",
		"JNZ scaleAdd2_loop",
		"VZEROUPPER",
		"RET",
	} {
		w.p("%s", l)
	}
	w.raw("\n// func reluMaskSumsAVX2(dst, gy, y, x *float32, mu float32, n int, out *float32)\n")
	w.raw("TEXT ·reluMaskSumsAVX2(SB), NOSPLIT, $0-56\n")
	for _, l := range []string{
		"MOVQ dst+0(FP), DI",
		"MOVQ gy+8(FP), DX",
		"MOVQ y+16(FP), R8",
		"MOVQ x+24(FP), SI",
		"VBROADCASTSS mu+32(FP), Y15",
		"MOVQ n+40(FP), CX",
		"VXORPS Y14, Y14, Y14",
		"VXORPS Y0, Y0, Y0", // Σ dst
		"VXORPS Y1, Y1, Y1", // Σ dst·(x − mu)
	} {
		w.p("%s", l)
	}
	w.label("reluMaskSums_loop")
	for _, l := range []string{
		"VMOVUPS (R8), Y2",
		"VPCMPEQD Y14, Y2, Y2", // all ones where y's bits are zero
		"VANDNPS (DX), Y2, Y3", // gy elsewhere
		"VMOVUPS Y3, (DI)",
		"VADDPS Y3, Y0, Y0",
		"VMOVUPS (SI), Y4",
		"VSUBPS Y15, Y4, Y4",
		"VFMADD231PS Y4, Y3, Y1",
		"ADDQ $32, DI",
		"ADDQ $32, DX",
		"ADDQ $32, R8",
		"ADDQ $32, SI",
		"SUBQ $8, CX",
		"JNZ reluMaskSums_loop",
		"MOVQ out+48(FP), AX",
		"VMOVUPS Y0, (AX)",
		"VMOVUPS Y1, 32(AX)",
		"VZEROUPPER",
		"RET",
	} {
		w.p("%s", l)
	}
	return w.Bytes()
}
