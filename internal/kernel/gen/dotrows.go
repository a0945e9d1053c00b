package main

// genDotRows writes dotrows_amd64.s: four dot products of one vector with
// four rows of a matrix, the heart of a matrix–vector product with a
// row-major weight (a layer's forward pass at batch 1).
func genDotRows() []byte {
	var w asm
	w.raw(header)
	// Register roles: SI a, R8–R11 the four rows, AX the byte offset,
	// CX the elements left (a multiple of 8), DI out; Y0–Y7 accumulators
	// (two per row, for two independent FMA chains), Y8–Y9 a.
	text(&w, "dotRows4AVX2(a, b *float32, ldb, k int, out *float32)", "dotRows4AVX2", "$0-40")
	w.p("MOVQ a+0(FP), SI")
	w.p("MOVQ b+8(FP), R8")
	w.p("MOVQ ldb+16(FP), DX")
	w.p("SHLQ $2, DX")
	w.p("MOVQ k+24(FP), CX")
	w.p("MOVQ out+32(FP), DI")
	w.p("LEAQ (R8)(DX*1), R9")
	w.p("LEAQ (R9)(DX*1), R10")
	w.p("LEAQ (R10)(DX*1), R11")
	w.p("MOVQ $0, AX")
	for i := 0; i < 8; i++ {
		w.p("VXORPS Y%d, Y%d, Y%d", i, i, i)
	}
	rows := []string{"R8", "R9", "R10", "R11"}
	w.p("CMPQ CX, $16")
	w.p("JB dotrows_tail")
	w.label("dotrows_loop")
	w.p("VMOVUPS (SI)(AX*1), Y8")
	w.p("VMOVUPS 32(SI)(AX*1), Y9")
	for r, reg := range rows {
		w.p("VFMADD231PS (%s)(AX*1), Y8, Y%d", reg, r)
		w.p("VFMADD231PS 32(%s)(AX*1), Y9, Y%d", reg, r+4)
	}
	w.p("ADDQ $64, AX")
	w.p("SUBQ $16, CX")
	w.p("CMPQ CX, $16")
	w.p("JAE dotrows_loop")
	w.label("dotrows_tail")
	w.p("TESTQ CX, CX")
	w.p("JZ dotrows_done")
	w.p("VMOVUPS (SI)(AX*1), Y8")
	for r, reg := range rows {
		w.p("VFMADD231PS (%s)(AX*1), Y8, Y%d", reg, r)
	}
	w.label("dotrows_done")
	for r := 0; r < 4; r++ {
		w.p("VADDPS Y%d, Y%d, Y%d", r+4, r, r)
		w.p("VEXTRACTF128 $1, Y%d, X8", r)
		w.p("VADDPS X8, X%d, X%d", r, r)
		w.p("VPERMILPS $0x4e, X%d, X8", r)
		w.p("VADDPS X8, X%d, X%d", r, r)
		w.p("VPERMILPS $0xb1, X%d, X8", r)
		w.p("VADDPS X8, X%d, X%d", r, r)
		w.p("MOVSS X%d, %d(DI)", r, 4*r)
	}
	w.p("VZEROUPPER")
	w.p("RET\n")
	return w.Bytes()
}
