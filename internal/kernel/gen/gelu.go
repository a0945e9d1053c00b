package main

import (
	"fmt"
	"math"
)

// geluConsts are the constants of the GELU kernels. They must match the
// portable twins in ../gelu.go. The upper-tail probability
// Q(x) = Φ(−|x|) = ½·erfc(|x|/√2) follows Abramowitz and Stegun 7.1.26
// (absolute error below 1.5e−7, the approximation PyTorch's vectorised erf
// uses): Q = t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·exp(−x²/2) with
// t = 1/(1 + p·|x|/√2); the coefficients below carry the ½ and the 1/√2.
var geluConsts = []struct {
	name string
	bits uint32
}{
	{"geluAbs", 0x7fffffff},
	{"geluP", math.Float32bits(0.3275911 * 0.70710678118654752440)},
	{"geluA1", math.Float32bits(0.5 * 0.254829592)},
	{"geluA2", math.Float32bits(0.5 * -0.284496736)},
	{"geluA3", math.Float32bits(0.5 * 1.421413741)},
	{"geluA4", math.Float32bits(0.5 * -1.453152027)},
	{"geluA5", math.Float32bits(0.5 * 1.061405429)},
	{"geluNegHalf", math.Float32bits(-0.5)},
	{"geluInvSqrt2Pi", math.Float32bits(0.39894228040143267794)},
	{"geluDMax", math.Float32bits(1e18)},
	{"geluULo", math.Float32bits(-87)},
}

// geluCDF emits the computation of Φ(x) into Y1 and exp(−x²/2) into Y8
// from x in Y0, with Y14 zero and Y15 one. It clobbers Y2–Y12.
//
//	t = 1/(1 + p·|x|)        Q = t·poly(t)·exp(−x²/2)
//	Φ = Q + [x ≥ 0]·(1 − 2Q)  (so Φ = Q exactly for x < 0: no cancellation)
//
// t comes from VRCPPS, whose 12 bits one third-order Newton step,
// t·(1 + e + e²) with e = 1 − d·t, brings to the float's precision, in
// place of VDIVPS's longer occupancy of the divider (d is capped at
// geluDMax first: the step would turn 1/∞ into NaN). The portable twin
// divides; the two agree within an ulp or two of t.
func geluCDF(w *asm) {
	w.p("VANDPS geluAbs<>(SB), Y0, Y1")
	w.p("VMOVAPS Y15, Y2")
	w.p("VFMADD231PS geluP<>(SB), Y1, Y2")
	w.p("VMINPS geluDMax<>(SB), Y2, Y2")
	w.p("VRCPPS Y2, Y3")
	w.p("VMOVAPS Y15, Y4")
	w.p("VFNMADD231PS Y3, Y2, Y4")
	w.p("VFMADD231PS Y4, Y4, Y4")
	w.p("VFMADD231PS Y4, Y3, Y3")
	w.p("VMOVUPS geluA5<>(SB), Y4")
	for _, c := range []string{"geluA4", "geluA3", "geluA2", "geluA1"} {
		w.p("VFMADD213PS %s<>(SB), Y3, Y4", c)
	}
	w.p("VMULPS Y3, Y4, Y4")
	// exp(u), u = −x²/2 ≤ 0, as in the exp kernel, n = round(u·log2e),
	// r = u − n·ln2, degree-7 polynomial, scaled by 2^n in one step,
	// which is normal down to u = geluULo: below it (|x| > 13.19, NaN
	// too) the result is masked to zero. Q, under 1e−39 there, becomes
	// zero: GELU(x) = x·Q loses nothing above 1e−37, and GELU'(x) keeps
	// no x·exp(−x²/2) term that a huge |x| would blow up.
	w.p("VMULPS Y0, Y0, Y5")
	w.p("VMULPS geluNegHalf<>(SB), Y5, Y5")
	w.p("VCMPPS $1, Y5, Y13, Y9")
	expSeq{x: "Y5", k: "Y6", r: "Y7", p: "Y8"}.emit(w)
	w.p("VMULPS Y6, Y8, Y8")
	w.p("VANDPS Y9, Y8, Y8")
	// Q in Y4; Φ = Q + mask·(1 − 2Q), mask = (0 ≤ x), false for NaN.
	w.p("VMULPS Y8, Y4, Y4")
	w.p("VCMPPS $2, Y0, Y14, Y10")
	w.p("VADDPS Y4, Y4, Y12")
	w.p("VSUBPS Y12, Y15, Y11")
	w.p("VANDPS Y10, Y11, Y11")
	w.p("VADDPS Y11, Y4, Y1")
}

// geluPrologue loads the registers geluCDF relies on.
func geluPrologue(w *asm) {
	w.p("VXORPS Y14, Y14, Y14")
	w.p("VMOVUPS expOne<>(SB), Y15")
	w.p("VMOVUPS geluULo<>(SB), Y13")
}

// genGELU writes gelu_amd64.s: the exact GELU x·Φ(x), its gradient, and
// the GELU of a biased input together with its derivative, eight floats at
// a time (the callers pass a positive multiple of 8).
func genGELU() []byte {
	var w asm
	w.raw(header)

	text(&w, "geluAVX2(dst, x *float32, n int)", "geluAVX2", "$0-24")
	w.p("MOVQ dst+0(FP), DI")
	w.p("MOVQ x+8(FP), SI")
	w.p("MOVQ n+16(FP), CX")
	geluPrologue(&w)
	w.label("gelu_loop")
	w.p("VMOVUPS (SI), Y0")
	geluCDF(&w)
	w.p("VMULPS Y1, Y0, Y1")
	w.p("VMOVUPS Y1, (DI)")
	w.p("ADDQ $32, SI")
	w.p("ADDQ $32, DI")
	w.p("SUBQ $8, CX")
	w.p("JNZ gelu_loop")
	w.p("VZEROUPPER")
	w.p("RET\n")

	// dst = dy·(Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π).
	text(&w, "geluGradAVX2(dst, x, dy *float32, n int)", "geluGradAVX2", "$0-32")
	w.p("MOVQ dst+0(FP), DI")
	w.p("MOVQ x+8(FP), SI")
	w.p("MOVQ dy+16(FP), DX")
	w.p("MOVQ n+24(FP), CX")
	geluPrologue(&w)
	w.label("gelugrad_loop")
	w.p("VMOVUPS (SI), Y0")
	geluCDF(&w)
	w.p("VMULPS geluInvSqrt2Pi<>(SB), Y8, Y8")
	w.p("VFMADD213PS Y1, Y0, Y8")
	w.p("VMULPS (DX), Y8, Y8")
	w.p("VMOVUPS Y8, (DI)")
	w.p("ADDQ $32, SI")
	w.p("ADDQ $32, DX")
	w.p("ADDQ $32, DI")
	w.p("SUBQ $8, CX")
	w.p("JNZ gelugrad_loop")
	w.p("VZEROUPPER")
	w.p("RET\n")

	// x = pre + bias; dst = x·Φ(x); der = Φ(x) + x·φ(x). der may be pre:
	// each group of eight is read before it is written.
	text(&w, "geluBiasDerivAVX2(dst, der, pre, bias *float32, n int)", "geluBiasDerivAVX2", "$0-40")
	w.p("MOVQ dst+0(FP), DI")
	w.p("MOVQ der+8(FP), R8")
	w.p("MOVQ pre+16(FP), SI")
	w.p("MOVQ bias+24(FP), DX")
	w.p("MOVQ n+32(FP), CX")
	geluPrologue(&w)
	w.label("gelubd_loop")
	w.p("VMOVUPS (SI), Y0")
	w.p("VADDPS (DX), Y0, Y0")
	geluCDF(&w)
	w.p("VMULPS Y1, Y0, Y2")
	w.p("VMOVUPS Y2, (DI)")
	w.p("VMULPS geluInvSqrt2Pi<>(SB), Y8, Y8")
	w.p("VFMADD213PS Y1, Y0, Y8")
	w.p("VMOVUPS Y8, (R8)")
	w.p("ADDQ $32, SI")
	w.p("ADDQ $32, DX")
	w.p("ADDQ $32, DI")
	w.p("ADDQ $32, R8")
	w.p("SUBQ $8, CX")
	w.p("JNZ gelubd_loop")
	w.p("VZEROUPPER")
	w.p("RET\n")

	genGELUBiasDerivAVX512(&w)

	for _, c := range geluConsts {
		constant(&w, c.name, c.bits)
	}
	for _, c := range expConsts {
		switch c.name {
		case "expLog2e", "expLn2Hi", "expLn2Lo", "expC7", "expC6", "expC5", "expC4", "expC3", "expC2", "expOne", "expBias":
			constant(&w, c.name, c.bits)
		}
	}
	return w.Bytes()
}

// geluCDF512 returns geluCDF's instructions on 16 lanes for one of two
// interleaved streams: stream s uses Z(16s+0)..Z(16s+12) in place of
// Y0..Y12 and K(2s+1), K(2s+2) for the two masks; Z13 (geluULo), Z14
// (zero) and Z15 (one) are shared. The operations are geluCDF's, lane for
// lane, but for the reciprocal estimate: VRCP14PS (14 bits) in place of
// VRCPPS (12 bits, which has no 512-bit form), so t, after the same
// third-order Newton step, may differ from the AVX2 kernel's in its last
// bit. Constants are broadcast from their first lane.
func geluCDF512(s int) []string {
	r := func(i int) string { return fmt.Sprintf("Z%d", 16*s+i) }
	k1, k2 := fmt.Sprintf("K%d", 2*s+1), fmt.Sprintf("K%d", 2*s+2)
	l := []string{
		"VPANDD.BCST geluAbs<>(SB), " + r(0) + ", " + r(1),
		"VMOVAPS Z15, " + r(2),
		"VFMADD231PS.BCST geluP<>(SB), " + r(1) + ", " + r(2),
		"VMINPS.BCST geluDMax<>(SB), " + r(2) + ", " + r(2),
		"VRCP14PS " + r(2) + ", " + r(3),
		"VMOVAPS Z15, " + r(4),
		"VFNMADD231PS " + r(3) + ", " + r(2) + ", " + r(4),
		"VFMADD231PS " + r(4) + ", " + r(4) + ", " + r(4),
		"VFMADD231PS " + r(4) + ", " + r(3) + ", " + r(3),
		"VBROADCASTSS geluA5<>(SB), " + r(4),
	}
	for _, c := range []string{"geluA4", "geluA3", "geluA2", "geluA1"} {
		l = append(l, fmt.Sprintf("VFMADD213PS.BCST %s<>(SB), %s, %s", c, r(3), r(4)))
	}
	l = append(l,
		"VMULPS "+r(3)+", "+r(4)+", "+r(4),
		"VMULPS "+r(0)+", "+r(0)+", "+r(5),
		"VMULPS.BCST geluNegHalf<>(SB), "+r(5)+", "+r(5),
		"VCMPPS $1, "+r(5)+", Z13, "+k1,
	)
	l = append(l, expSeq{zmm: true, x: r(5), k: r(6), r: r(7), p: r(8)}.lines()...)
	return append(l,
		"VMULPS.Z "+r(6)+", "+r(8)+", "+k1+", "+r(8),
		"VMULPS "+r(8)+", "+r(4)+", "+r(4),
		"VCMPPS $2, "+r(0)+", Z14, "+k2,
		"VADDPS "+r(4)+", "+r(4)+", "+r(12),
		"VSUBPS.Z "+r(12)+", Z15, "+k2+", "+r(11),
		"VADDPS "+r(11)+", "+r(4)+", "+r(1),
	)
}

// geluBDBody512 returns one stream's GELUBiasDeriv on the 16 floats at
// byte offset off: load and bias, geluCDF512, then the value and the
// derivative stored.
func geluBDBody512(s, off int) []string {
	r := func(i int) string { return fmt.Sprintf("Z%d", 16*s+i) }
	l := []string{
		fmt.Sprintf("VMOVUPS %d(SI), %s", off, r(0)),
		fmt.Sprintf("VADDPS %d(DX), %s, %s", off, r(0), r(0)),
	}
	l = append(l, geluCDF512(s)...)
	return append(l,
		"VMULPS "+r(1)+", "+r(0)+", "+r(2),
		fmt.Sprintf("VMOVUPS %s, %d(DI)", r(2), off),
		"VMULPS.BCST geluInvSqrt2Pi<>(SB), "+r(8)+", "+r(8),
		"VFMADD213PS "+r(1)+", "+r(0)+", "+r(8),
		fmt.Sprintf("VMOVUPS %s, %d(R8)", r(8), off),
	)
}

// genGELUBiasDerivAVX512 writes geluBiasDerivAVX512, the AVX-512 form of
// geluBiasDerivAVX2 for a positive multiple of 16 floats: 32 a step in
// two independent streams whose instructions are interleaved (the
// kernel is a long dependent chain per vector), then 16 if left. der may
// be pre: each stream reads its 16 floats before it writes them, and the
// two streams' floats are disjoint.
func genGELUBiasDerivAVX512(w *asm) {
	text(w, "geluBiasDerivAVX512(dst, der, pre, bias *float32, n int)", "geluBiasDerivAVX512", "$0-40")
	w.p("MOVQ dst+0(FP), DI")
	w.p("MOVQ der+8(FP), R8")
	w.p("MOVQ pre+16(FP), SI")
	w.p("MOVQ bias+24(FP), DX")
	w.p("MOVQ n+32(FP), CX")
	w.p("VPXORD Z14, Z14, Z14")
	w.p("VBROADCASTSS expOne<>(SB), Z15")
	w.p("VBROADCASTSS geluULo<>(SB), Z13")
	w.p("CMPQ CX, $32")
	w.p("JLT gelubd512_one")
	w.label("gelubd512_loop")
	a, b := geluBDBody512(0, 0), geluBDBody512(1, 64)
	for i := range a {
		w.p("%s", a[i])
		w.p("%s", b[i])
	}
	w.p("ADDQ $128, SI")
	w.p("ADDQ $128, DX")
	w.p("ADDQ $128, DI")
	w.p("ADDQ $128, R8")
	w.p("SUBQ $32, CX")
	w.p("CMPQ CX, $32")
	w.p("JGE gelubd512_loop")
	w.p("TESTQ CX, CX")
	w.p("JZ gelubd512_done")
	w.label("gelubd512_one")
	for _, l := range geluBDBody512(0, 0) {
		w.p("%s", l)
	}
	w.label("gelubd512_done")
	w.p("VZEROUPPER")
	w.p("RET\n")
}
