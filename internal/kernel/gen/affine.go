package main

// genAffine writes affine_amd64.s: the element-wise affine maps of the
// batch-norm passes (see kernel.ScaleShift and kernel.ScaleAdd2), eight
// values a step, n a positive multiple of 8.
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
	return w.Bytes()
}
