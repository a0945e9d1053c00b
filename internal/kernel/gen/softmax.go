package main

import "fmt"

// expSeq describes one emission of the vector exp: the range reduction
// k = round(x·log2e), r = x − k·ln2 (ln2 in two parts), the degree-7
// polynomial of e^r by Horner's rule and the scaling by 2^k. Every
// vector exp of the package that uses these constants is emitted by
// expSeq.lines, so the kernels compute the same bits lane for lane.
type expSeq struct {
	// zmm selects sixteen lanes in ZMM registers: constants broadcast
	// from their first lane (.BCST, VBROADCASTSS) and VRNDSCALEPS in
	// place of VROUNDPS. Otherwise eight lanes in YMM registers, with
	// constants read as whole vectors.
	zmm bool
	// hi and lo, when set, are the registers that hold expHi and expLo:
	// x is first clamped to [lo, hi] in place (NaN kept).
	hi, lo string
	// x holds the argument; k receives round(x·log2e), then the scale;
	// p receives the result.
	x, k, p string
	// r, when set, receives a copy of x after the rounding and becomes
	// the reduced argument, x being kept; otherwise x is reduced in
	// place.
	r string
	// e, when set, makes the scaling two-step, p·2^(k>>1)·2^(k−(k>>1)),
	// so that both overflowing and subnormal results come out right;
	// the result is then in p. Without e, k receives 2^k alone (normal
	// for k ≥ −126) and the caller multiplies p by it.
	e string
}

// lines returns the instructions of the exp.
func (s expSeq) lines() []string {
	bc, rnd, ld := "", "VROUNDPS", "VMOVUPS"
	if s.zmm {
		bc, rnd, ld = ".BCST", "VRNDSCALEPS", "VBROADCASTSS"
	}
	r := s.r
	if r == "" {
		r = s.x
	}
	var l []string
	add := func(format string, args ...any) { l = append(l, fmt.Sprintf(format, args...)) }
	if s.hi != "" {
		add("VMINPS %s, %s, %s", s.x, s.hi, s.x)
		add("VMAXPS %s, %s, %s", s.x, s.lo, s.x)
	}
	add("VMULPS%s expLog2e<>(SB), %s, %s", bc, s.x, s.k)
	add("%s $0, %s, %s", rnd, s.k, s.k)
	if s.r != "" {
		add("VMOVAPS %s, %s", s.x, s.r)
	}
	add("VFNMADD231PS%s expLn2Hi<>(SB), %s, %s", bc, s.k, r)
	add("VFNMADD231PS%s expLn2Lo<>(SB), %s, %s", bc, s.k, r)
	add("%s expC7<>(SB), %s", ld, s.p)
	for _, c := range []string{"expC6", "expC5", "expC4", "expC3", "expC2", "expOne", "expOne"} {
		add("VFMADD213PS%s %s<>(SB), %s, %s", bc, c, r, s.p)
	}
	add("VCVTPS2DQ %s, %s", s.k, s.k)
	if s.e == "" {
		add("VPADDD%s expBias<>(SB), %s, %s", bc, s.k, s.k)
		add("VPSLLD $23, %s, %s", s.k, s.k)
		return l
	}
	add("VPSRAD $1, %s, %s", s.k, s.e)
	add("VPSUBD %s, %s, %s", s.e, s.k, s.k)
	add("VPADDD%s expBias<>(SB), %s, %s", bc, s.e, s.e)
	add("VPSLLD $23, %s, %s", s.e, s.e)
	add("VPADDD%s expBias<>(SB), %s, %s", bc, s.k, s.k)
	add("VPSLLD $23, %s, %s", s.k, s.k)
	add("VMULPS %s, %s, %s", s.e, s.p, s.p)
	add("VMULPS %s, %s, %s", s.k, s.p, s.p)
	return l
}

// emit writes the exp's instructions.
func (s expSeq) emit(w *asm) {
	for _, l := range s.lines() {
		w.p("%s", l)
	}
}

// smExp returns the softmax kernels' exp of x in register x (Y or Z
// prefix v) with x+1..x+3 as scratch, the result in x+2: x clamped to
// [Y15, Y14] (Z15, Z14), two-step scaling.
func smExp(v string, x int) expSeq {
	r := func(i int) string { return fmt.Sprintf("%s%d", v, i) }
	return expSeq{zmm: v == "Z", hi: r(14), lo: r(15), x: r(x), k: r(x + 1), p: r(x + 2), e: r(x + 3)}
}

// fold8 folds the eight lanes of Y(src) into the lowest lane of X(dst)
// with op, as dotAVX2 adds them: the halves, then pairs, then neighbours.
func fold8(w *asm, op string, src, dst int) {
	w.p("VEXTRACTF128 $1, Y%d, X1", src)
	w.p("%s X1, X%d, X%d", op, src, dst)
	w.p("VPERMILPS $0x4e, X%d, X1", dst)
	w.p("%s X1, X%d, X%d", op, dst, dst)
	w.p("VPERMILPS $0xb1, X%d, X1", dst)
	w.p("%s X1, X%d, X%d", op, dst, dst)
}

// docText is text with the kernel's description under its signature.
func docText(w *asm, sig, name, frame, doc string) {
	fmt.Fprintf(&w.Buffer, "// func %s\n%sTEXT ·%s(SB), NOSPLIT, %s\n", sig, doc, name, frame)
}

// laneMaskK1 sets K1 to the lowest CX (< 16) bits.
func laneMaskK1(w *asm) {
	w.p("MOVL $1, AX")
	w.p("SHLQ CX, AX")
	w.p("DECQ AX")
	w.p("KMOVW AX, K1")
}

// genSoftmax writes softmax_amd64.s: the softmax row kernels of
// ../softmax_amd64.go.
func genSoftmax() []byte {
	var w asm
	w.raw(header)
	w.raw(`// The softmax row kernels (softmax_amd64.go). The AVX2 kernels take the
// multiple-of-8 prefix of their row as n and the rest (0 to 7 values)
// through VMASKMOVPS with the lane mask at mask (nil when there is none),
// the AVX-512 kernels through the mask register K1, so that no value past
// the row is read or written. Sums run over fixed lanes in a fixed order:
// a row gives the same bits whatever else runs.
//
// The exp of a vector is expAVX2's (vec_amd64.s), lane for lane: x
// clamped to [Y15, Y14] = [−104, 89] (NaN kept), reduced by
// k = round(x·log2e), a degree-7 polynomial, scaled by 2^k in two halves.
// The lanes of a sum are added as dotAVX2 adds them: the halves, then
// pairs, then neighbours.

`)
	genExpShiftSumAVX2(&w)
	genSoftmaxBackward(&w, false)
	genPrefetch(&w)
	genExpShiftSumAVX512(&w)
	genSoftmaxBackward(&w, true)
	genSoftmaxExpAVX512(&w)
	for _, c := range expConsts {
		constant(&w, c.name, c.bits)
	}
	constant(&w, "negInf", 0xff800000)
	return w.Bytes()
}

func genExpShiftSumAVX2(w *asm) {
	docText(w, "expShiftSumAVX2(x *float32, n int, shift float32, mask *int32) float32", "expShiftSumAVX2", "$0-36", "// x[i] = exp(x[i] − shift); returns the sum, accumulated in one vector\n// in row order, then its lanes added.\n")
	w.p("MOVQ x+0(FP), SI")
	w.p("MOVQ n+8(FP), CX")
	w.p("VBROADCASTSS shift+16(FP), Y13")
	w.p("MOVQ mask+24(FP), R8")
	w.p("VMOVUPS expHi<>(SB), Y14")
	w.p("VMOVUPS expLo<>(SB), Y15")
	w.p("VXORPS Y12, Y12, Y12")
	body := func(off, x int) {
		w.p("VMOVUPS %d(SI), Y%d", off, x)
		w.p("VSUBPS Y13, Y%d, Y%d", x, x)
		smExp("Y", x).emit(w)
		w.p("VMOVUPS Y%d, %d(SI)", x+2, off)
		w.p("VADDPS Y%d, Y12, Y12", x+2)
	}
	w.p("CMPQ CX, $16")
	w.p("JB ess_one")
	w.label("ess_big")
	body(0, 0)
	body(32, 4)
	w.p("ADDQ $64, SI")
	w.p("SUBQ $16, CX")
	w.p("CMPQ CX, $16")
	w.p("JAE ess_big")
	w.label("ess_one")
	w.p("TESTQ CX, CX")
	w.p("JZ ess_tail")
	body(0, 0)
	w.p("ADDQ $32, SI")
	w.label("ess_tail")
	w.p("TESTQ R8, R8")
	w.p("JZ ess_done")
	w.raw("\t// The lanes past the row load as 0 and are masked to 0 before the\n\t// exp (no huge negative argument) and after it (no 1 in the sum).\n")
	w.p("VMOVUPS (R8), Y8")
	w.p("VMASKMOVPS (SI), Y8, Y0")
	w.p("VSUBPS Y13, Y0, Y0")
	w.p("VANDPS Y8, Y0, Y0")
	smExp("Y", 0).emit(w)
	w.p("VANDPS Y8, Y2, Y2")
	w.p("VMASKMOVPS Y2, Y8, (SI)")
	w.p("VADDPS Y2, Y12, Y12")
	w.label("ess_done")
	fold8(w, "VADDPS", 12, 0)
	w.p("VZEROUPPER")
	w.p("MOVSS X0, ret+32(FP)")
	w.p("RET\n")
}

// genSoftmaxBackward writes softmaxBackwardAVX2, or with avx512
// softmaxBackwardAVX512: the same operations in the same order, so the
// same bits, but for the row's last values, which the AVX-512 kernel
// loads and stores through K1 rather than VMASKMOVPS (whose masked stores
// are slow on some processors).
func genSoftmaxBackward(w *asm, avx512 bool) {
	name, p := "softmaxBackwardAVX2", "smb"
	load := func(reload bool) {
		if reload {
			w.p("VMOVUPS (R8), Y14")
		}
		w.p("VMASKMOVPS (SI), Y14, Y4")
		w.p("VMASKMOVPS (DX), Y14, Y5")
	}
	store := func(y int, ptr string) { w.p("VMASKMOVPS Y%d, Y14, (%s)", y, ptr) }
	if avx512 {
		name, p = "softmaxBackwardAVX512", "smz"
		load = func(bool) {
			w.p("VMOVUPS.Z (SI), K1, Z4")
			w.p("VMOVUPS.Z (DX), K1, Z5")
		}
		store = func(y int, ptr string) { w.p("VMOVUPS Z%d, K1, (%s)", y, ptr) }
		docText(w, name+"(e, dp *float32, n int, inv float32, w int) float32", name, "$0-44", "// softmaxBackwardAVX2 (the same operations in the same order, so the\n// same bits), its last w < 8 values loaded and stored through the mask\n// register K1 rather than VMASKMOVPS, whose masked stores are slow on\n// some processors.\n")
		w.p("MOVQ e+0(FP), SI")
		w.p("MOVQ dp+8(FP), DX")
		w.p("MOVQ w+32(FP), R8")
		w.p("MOVQ R8, CX")
		laneMaskK1(w)
		w.p("MOVQ n+16(FP), CX")
		w.p("VBROADCASTSS inv+24(FP), Y15")
	} else {
		docText(w, name+"(e, dp *float32, n int, inv float32, mask *int32) float32", name, "$0-44", "// Pass 1: s = Σ (e[i]·inv)·dp[i] in four vector accumulators over 32\n// values at a time (the rest of the whole vectors in the first, the\n// masked tail in the second), added (0+1)+(2+3), then its lanes. Pass 2:\n// p = e[i]·inv into e, p·(dp[i] − s) into dp. Returns s.\n")
		w.p("MOVQ e+0(FP), SI")
		w.p("MOVQ dp+8(FP), DX")
		w.p("MOVQ n+16(FP), CX")
		w.p("VBROADCASTSS inv+24(FP), Y15")
		w.p("MOVQ mask+32(FP), R8")
	}
	w.p("MOVQ SI, R9")
	w.p("MOVQ DX, R10")
	w.p("MOVQ CX, R11")
	for i := 0; i < 4; i++ {
		w.p("VXORPS Y%d, Y%d, Y%d", i, i, i)
	}
	vecLoop(w, p, 4, []string{"SI", "DX"}, func(off, s int) {
		w.p("VMULPS %d(SI), Y15, Y%d", off, s+4)
		w.p("VFMADD231PS %d(DX), Y%d, Y%d", off, s+4, s)
	})
	w.p("TESTQ R8, R8")
	w.p("JZ %s_sum", p)
	load(true)
	w.p("VMULPS Y4, Y15, Y4")
	w.p("VFMADD231PS Y5, Y4, Y1")
	w.label(p + "_sum")
	w.p("VADDPS Y1, Y0, Y0")
	w.p("VADDPS Y3, Y2, Y2")
	w.p("VADDPS Y2, Y0, Y2")
	fold8(w, "VADDPS", 2, 0)
	w.p("VBROADCASTSS X0, Y13")
	w.p("MOVQ R9, SI")
	w.p("MOVQ R10, DX")
	w.p("MOVQ R11, CX")
	w.p("TESTQ CX, CX")
	w.p("JZ %s_tail2", p)
	w.label(p + "_loop2")
	w.p("VMULPS 0(SI), Y15, Y4")
	w.p("VMOVUPS 0(DX), Y5")
	w.p("VMOVUPS Y4, 0(SI)")
	w.p("VSUBPS Y13, Y5, Y5")
	w.p("VMULPS Y4, Y5, Y5")
	w.p("VMOVUPS Y5, 0(DX)")
	w.p("ADDQ $32, SI")
	w.p("ADDQ $32, DX")
	w.p("SUBQ $8, CX")
	w.p("JNZ %s_loop2", p)
	w.label(p + "_tail2")
	w.p("TESTQ R8, R8")
	w.p("JZ %s_end", p)
	load(false)
	w.p("VMULPS Y4, Y15, Y4")
	store(4, "SI")
	w.p("VSUBPS Y13, Y5, Y5")
	w.p("VMULPS Y4, Y5, Y5")
	store(5, "DX")
	w.label(p + "_end")
	w.p("VZEROUPPER")
	w.p("MOVSS X0, ret+40(FP)")
	w.p("RET\n")
}

func genPrefetch(w *asm) {
	docText(w, "prefetchAVX2(x *float32, n int)", "prefetchAVX2", "$0-16", "// Asks for the cache lines of x[0:n] (n > 0) with PREFETCHT0, from the\n// line that holds x[0] to the one that holds x[n−1].\n")
	w.p("MOVQ x+0(FP), SI")
	w.p("MOVQ n+8(FP), CX")
	w.p("LEAQ (SI)(CX*4), DX")
	w.p("ANDQ $-64, SI")
	w.label("pf_loop")
	w.p("PREFETCHT0 (SI)")
	w.p("ADDQ $64, SI")
	w.p("CMPQ SI, DX")
	w.p("JB pf_loop")
	w.p("RET\n")
}

// expShift512 emits x = exp(x − Z13) on the sixteen floats at SI (through
// K1, the other lanes neither read nor written and zeroed, with tail),
// added into Z12.
func expShift512(w *asm, tail bool) {
	if tail {
		w.p("VMOVUPS.Z (SI), K1, Z0")
	} else {
		w.p("VMOVUPS 0(SI), Z0")
	}
	w.p("VSUBPS Z13, Z0, Z0")
	smExp("Z", 0).emit(w)
	if tail {
		w.p("VMOVUPS.Z Z2, K1, Z2")
		w.p("VMOVUPS Z2, K1, (SI)")
	} else {
		w.p("VMOVUPS Z2, 0(SI)")
	}
	w.p("VADDPS Z2, Z12, Z12")
}

// expShiftTail512 emits the last CX < 16 values through K1, then the
// sum's lanes added into X0: its halves, then as fold8.
func expShiftTail512(w *asm, p string) {
	w.label(p + "_tail")
	w.p("TESTQ CX, CX")
	w.p("JZ %s_done", p)
	laneMaskK1(w)
	expShift512(w, true)
	w.label(p + "_done")
	w.p("VEXTRACTI64X4 $1, Z12, Y1")
	w.p("VADDPS Y1, Y12, Y12")
	fold8(w, "VADDPS", 12, 0)
	w.p("VZEROUPPER")
}

func genExpShiftSumAVX512(w *asm) {
	docText(w, "expShiftSumAVX512(x *float32, n int, shift float32) float32", "expShiftSumAVX512", "$0-28", "// expShiftSumAVX2 over sixteen lanes: the same exp, lane by lane (the\n// same bits), the sum accumulated in one vector in row order, its halves\n// then added as expShiftSumAVX2 adds its lanes. The last n%16 values go\n// through a zero-masking load and a masked store: lanes past the row are\n// neither read nor written, and are zeroed before the sum.\n")
	w.p("MOVQ x+0(FP), SI")
	w.p("MOVQ n+8(FP), CX")
	w.p("VBROADCASTSS shift+16(FP), Z13")
	w.p("VBROADCASTSS expHi<>(SB), Z14")
	w.p("VBROADCASTSS expLo<>(SB), Z15")
	w.p("VPXORD Z12, Z12, Z12")
	w.p("CMPQ CX, $32")
	w.p("JB esz_one")
	// Two vectors a step, their exps one after the other.
	w.label("esz_two")
	w.p("VMOVUPS 0(SI), Z0")
	w.p("VMOVUPS 64(SI), Z4")
	for _, x := range []int{0, 4} {
		w.p("VSUBPS Z13, Z%d, Z%d", x, x)
		smExp("Z", x).emit(w)
	}
	w.p("VMOVUPS Z2, 0(SI)")
	w.p("VMOVUPS Z6, 64(SI)")
	w.p("VADDPS Z2, Z12, Z12")
	w.p("VADDPS Z6, Z12, Z12")
	w.p("ADDQ $128, SI")
	w.p("SUBQ $32, CX")
	w.p("CMPQ CX, $32")
	w.p("JAE esz_two")
	w.label("esz_one")
	w.p("CMPQ CX, $16")
	w.p("JB esz_tail")
	expShift512(w, false)
	w.p("ADDQ $64, SI")
	w.p("SUBQ $16, CX")
	expShiftTail512(w, "esz")
	w.p("MOVSS X0, ret+24(FP)")
	w.p("RET\n")
}

func genSoftmaxExpAVX512(w *asm) {
	docText(w, "softmaxExpAVX512(x *float32, n int) (m, sum float32)", "softmaxExpAVX512", "$0-24", "// A softmax row's exponentials in one call: m = max x (NaN when x holds\n// one), as maxAVX2 and maxPortable find it, over eight lanes with the\n// last n%8 values merged into −Inf lanes through K1; then x[i] =\n// exp(x[i] − m) and their sum as expShiftSumAVX512 computes them. n > 0.\n")
	w.p("MOVQ x+0(FP), SI")
	w.p("MOVQ n+8(FP), CX")
	w.p("MOVQ SI, R9")
	w.p("MOVQ CX, R11")
	w.p("VBROADCASTSS negInf<>(SB), Z0")
	w.p("VXORPS Y8, Y8, Y8")
	w.p("CMPQ CX, $8")
	w.p("JB sme_maxtail")
	w.label("sme_maxloop")
	w.p("VMOVUPS 0(SI), Y4")
	w.p("VMAXPS Y0, Y4, Y0")
	w.p("VCMPPS $3, Y4, Y8, Y8")
	w.p("ADDQ $32, SI")
	w.p("SUBQ $8, CX")
	w.p("CMPQ CX, $8")
	w.p("JAE sme_maxloop")
	w.label("sme_maxtail")
	w.p("TESTQ CX, CX")
	w.p("JZ sme_maxdone")
	laneMaskK1(w)
	w.p("VBROADCASTSS negInf<>(SB), Z4")
	w.p("VMOVUPS (SI), K1, Z4")
	w.p("VMAXPS Y0, Y4, Y0")
	w.p("VCMPPS $3, Y4, Y8, Y8")
	w.label("sme_maxdone")
	w.raw("\t// The lanes' maximum, then any NaN lane's all-ones pattern (a NaN)\n\t// ORed in.\n")
	fold8(w, "VMAXPS", 0, 0)
	fold8(w, "VORPS", 8, 8)
	w.p("VORPS X8, X0, X0")
	w.p("MOVSS X0, m+16(FP)")
	w.raw("\t// Every value −Inf: no exponentials, x left alone, sum 0.\n")
	w.p("MOVL m+16(FP), AX")
	w.p("CMPL AX, $0xff800000")
	w.p("JZ sme_empty")
	w.p("VBROADCASTSS X0, Z13")
	w.p("MOVQ R9, SI")
	w.p("MOVQ R11, CX")
	w.p("VBROADCASTSS expHi<>(SB), Z14")
	w.p("VBROADCASTSS expLo<>(SB), Z15")
	w.p("VPXORD Z12, Z12, Z12")
	w.p("CMPQ CX, $16")
	w.p("JB sme_tail")
	w.label("sme_loop")
	expShift512(w, false)
	w.p("ADDQ $64, SI")
	w.p("SUBQ $16, CX")
	w.p("CMPQ CX, $16")
	w.p("JAE sme_loop")
	expShiftTail512(w, "sme")
	w.p("MOVSS X0, sum+20(FP)")
	w.p("RET")
	w.label("sme_empty")
	w.p("VZEROUPPER")
	w.p("MOVL $0, sum+20(FP)")
	w.p("RET\n")
}
