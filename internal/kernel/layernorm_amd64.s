//go:build amd64 && !purego

#include "textflag.h"

// The LayerNorm row kernels (layernorm_amd64.go). Each takes the
// multiple-of-8 prefix of its row as n and the rest (0 to 7 values)
// through VMASKMOVPS with the lane mask at mask (nil when there is none),
// so that no value past the row is read or written. Sums run over fixed
// lanes in a fixed order.

// func lnGradSumsAVX2(x, gy, w, gw, gb *float32, n int, mu, inv float32, mask *int32) (s1, s2 float32)
// With x̂ = (x − mu)·inv and ĝ = g·w: gw += g·x̂ (fused) when gw is not
// nil, gb += g when gb is not nil, s1 = Σ ĝ and s2 = Σ ĝ·x̂, each in two
// accumulators over 16 values at a time (the odd vector and the masked
// tail in the first), added, then its lanes.
TEXT ·lnGradSumsAVX2(SB), NOSPLIT, $0-72
	MOVQ x+0(FP), SI
	MOVQ gy+8(FP), DX
	MOVQ w+16(FP), R8
	MOVQ gw+24(FP), R9
	MOVQ gb+32(FP), R10
	MOVQ n+40(FP), CX
	VBROADCASTSS mu+48(FP), Y15
	VBROADCASTSS inv+52(FP), Y14
	MOVQ mask+56(FP), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $16
	JB lng_one
lng_big:
	VMOVUPS 0(SI), Y4
	VMOVUPS 32(SI), Y5
	VSUBPS Y15, Y4, Y4
	VSUBPS Y15, Y5, Y5
	VMULPS Y14, Y4, Y4
	VMULPS Y14, Y5, Y5
	VMOVUPS 0(DX), Y6
	VMOVUPS 32(DX), Y7
	TESTQ R9, R9
	JZ lng_bignow
	VMOVUPS 0(R9), Y8
	VMOVUPS 32(R9), Y9
	VFMADD231PS Y6, Y4, Y8
	VFMADD231PS Y7, Y5, Y9
	VMOVUPS Y8, 0(R9)
	VMOVUPS Y9, 32(R9)
	ADDQ $64, R9
lng_bignow:
	TESTQ R10, R10
	JZ lng_bignob
	VADDPS 0(R10), Y6, Y8
	VADDPS 32(R10), Y7, Y9
	VMOVUPS Y8, 0(R10)
	VMOVUPS Y9, 32(R10)
	ADDQ $64, R10
lng_bignob:
	VMULPS 0(R8), Y6, Y6
	VMULPS 32(R8), Y7, Y7
	VADDPS Y6, Y0, Y0
	VADDPS Y7, Y1, Y1
	VFMADD231PS Y4, Y6, Y2
	VFMADD231PS Y5, Y7, Y3
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R8
	SUBQ $16, CX
	CMPQ CX, $16
	JAE lng_big
lng_one:
	TESTQ CX, CX
	JZ lng_tail
	VMOVUPS 0(SI), Y4
	VSUBPS Y15, Y4, Y4
	VMULPS Y14, Y4, Y4
	VMOVUPS 0(DX), Y6
	TESTQ R9, R9
	JZ lng_onenow
	VMOVUPS 0(R9), Y8
	VFMADD231PS Y6, Y4, Y8
	VMOVUPS Y8, 0(R9)
	ADDQ $32, R9
lng_onenow:
	TESTQ R10, R10
	JZ lng_onenob
	VADDPS 0(R10), Y6, Y8
	VMOVUPS Y8, 0(R10)
	ADDQ $32, R10
lng_onenob:
	VMULPS 0(R8), Y6, Y6
	VADDPS Y6, Y0, Y0
	VFMADD231PS Y4, Y6, Y2
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
lng_tail:
	TESTQ R11, R11
	JZ lng_sum
	VMOVUPS (R11), Y13
	VMASKMOVPS (SI), Y13, Y4
	VSUBPS Y15, Y4, Y4
	VMULPS Y14, Y4, Y4
	VANDPS Y13, Y4, Y4
	VMASKMOVPS (DX), Y13, Y6
	TESTQ R9, R9
	JZ lng_tailnow
	VMASKMOVPS (R9), Y13, Y8
	VFMADD231PS Y6, Y4, Y8
	VMASKMOVPS Y8, Y13, (R9)
lng_tailnow:
	TESTQ R10, R10
	JZ lng_tailnob
	VMASKMOVPS (R10), Y13, Y8
	VADDPS Y8, Y6, Y8
	VMASKMOVPS Y8, Y13, (R10)
lng_tailnob:
	VMASKMOVPS (R8), Y13, Y7
	VMULPS Y7, Y6, Y6
	VADDPS Y6, Y0, Y0
	VFMADD231PS Y4, Y6, Y2
lng_sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDPS X1, X0, X0
	VMOVSS X0, s1+64(FP)
	VEXTRACTF128 $1, Y2, X3
	VADDPS X3, X2, X2
	VPERMILPS $0x4e, X2, X3
	VADDPS X3, X2, X2
	VPERMILPS $0xb1, X2, X3
	VADDPS X3, X2, X2
	VMOVSS X2, s2+68(FP)
	VZEROUPPER
	RET

// func lnGradApplyAVX2(gx, prior, gy, x, w *float32, n int, mu, inv, b, c float32, mask *int32)
// With x̂ = (x − mu)·inv: gx[i] = inv·(g[i]·w[i]) + (b·x̂ + c), both
// fused, plus prior[i] when prior is not nil.
TEXT ·lnGradApplyAVX2(SB), NOSPLIT, $0-72
	MOVQ gx+0(FP), DI
	MOVQ prior+8(FP), BX
	MOVQ gy+16(FP), DX
	MOVQ x+24(FP), SI
	MOVQ w+32(FP), R8
	MOVQ n+40(FP), CX
	VBROADCASTSS mu+48(FP), Y15
	VBROADCASTSS inv+52(FP), Y14
	VBROADCASTSS b+56(FP), Y12
	VBROADCASTSS c+60(FP), Y11
	MOVQ mask+64(FP), R11
	CMPQ CX, $16
	JB lnd_one
lnd_big:
	VMOVUPS 0(SI), Y4
	VMOVUPS 32(SI), Y5
	VSUBPS Y15, Y4, Y4
	VSUBPS Y15, Y5, Y5
	VMULPS Y14, Y4, Y4
	VMULPS Y14, Y5, Y5
	VMOVAPS Y11, Y0
	VMOVAPS Y11, Y1
	VFMADD231PS Y4, Y12, Y0
	VFMADD231PS Y5, Y12, Y1
	VMOVUPS 0(DX), Y6
	VMOVUPS 32(DX), Y7
	VMULPS 0(R8), Y6, Y6
	VMULPS 32(R8), Y7, Y7
	VFMADD231PS Y6, Y14, Y0
	VFMADD231PS Y7, Y14, Y1
	TESTQ BX, BX
	JZ lnd_bigstore
	VADDPS 0(BX), Y0, Y0
	VADDPS 32(BX), Y1, Y1
	ADDQ $64, BX
lnd_bigstore:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R8
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JAE lnd_big
lnd_one:
	TESTQ CX, CX
	JZ lnd_tail
	VMOVUPS 0(SI), Y4
	VSUBPS Y15, Y4, Y4
	VMULPS Y14, Y4, Y4
	VMOVAPS Y11, Y0
	VFMADD231PS Y4, Y12, Y0
	VMOVUPS 0(DX), Y6
	VMULPS 0(R8), Y6, Y6
	VFMADD231PS Y6, Y14, Y0
	TESTQ BX, BX
	JZ lnd_onestore
	VADDPS 0(BX), Y0, Y0
	ADDQ $32, BX
lnd_onestore:
	VMOVUPS Y0, 0(DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
lnd_tail:
	TESTQ R11, R11
	JZ lnd_done
	VMOVUPS (R11), Y13
	VMASKMOVPS (SI), Y13, Y4
	VSUBPS Y15, Y4, Y4
	VMULPS Y14, Y4, Y4
	VMOVAPS Y11, Y0
	VFMADD231PS Y4, Y12, Y0
	VMASKMOVPS (DX), Y13, Y6
	VMASKMOVPS (R8), Y13, Y7
	VMULPS Y7, Y6, Y6
	VFMADD231PS Y6, Y14, Y0
	TESTQ BX, BX
	JZ lnd_tailstore
	VMASKMOVPS (BX), Y13, Y1
	VADDPS Y1, Y0, Y0
lnd_tailstore:
	VMASKMOVPS Y0, Y13, (DI)
lnd_done:
	VZEROUPPER
	RET

DATA lnOne<>+0(SB)/8, $0x3ff0000000000000
GLOBL lnOne<>(SB), RODATA|NOPTR, $8

// func lnRowAVX2(dst, x, w, b *float32, n int, fd, eps float32, mask *int32) (mean, inv float32)
// LayerNormRow in one call: mean = Σx/fd (four accumulators over 32
// values, the rest of the whole vectors in the first, the masked tail in
// the second, added (0+1)+(2+3), then its lanes), the variance the same
// way over (x − mean)² (the masked tail's deviations zeroed), inv =
// 1/√(var + eps) in float64, then dst = ((x − mean)·inv)·w + b, the last
// two fused, over 16 values at a time.
TEXT ·lnRowAVX2(SB), NOSPLIT, $0-64
	MOVQ x+8(FP), SI
	MOVQ n+32(FP), CX
	MOVQ mask+48(FP), R10
	MOVQ SI, R12
	MOVQ CX, R13
	TESTQ R10, R10
	JZ lnr_nomask
	VMOVUPS (R10), Y13
lnr_nomask:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JB lnr_sone
lnr_sbig:
	VADDPS 0(SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ $128, SI
	SUBQ $32, CX
	CMPQ CX, $32
	JAE lnr_sbig
lnr_sone:
	TESTQ CX, CX
	JZ lnr_stail
lnr_soneloop:
	VADDPS 0(SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ lnr_soneloop
lnr_stail:
	TESTQ R10, R10
	JZ lnr_ssum
	VMASKMOVPS (SI), Y13, Y4
	VADDPS Y4, Y1, Y1
lnr_ssum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y2
	VEXTRACTF128 $1, Y2, X1
	VADDPS X1, X2, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDPS X1, X0, X0
	VDIVSS fd+40(FP), X0, X0
	VMOVSS X0, mean+56(FP)
	VBROADCASTSS X0, Y15
	MOVQ R12, SI
	MOVQ R13, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JB lnr_vone
lnr_vbig:
	VMOVUPS 0(SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VSUBPS Y15, Y4, Y4
	VSUBPS Y15, Y5, Y5
	VSUBPS Y15, Y6, Y6
	VSUBPS Y15, Y7, Y7
	VFMADD231PS Y4, Y4, Y0
	VFMADD231PS Y5, Y5, Y1
	VFMADD231PS Y6, Y6, Y2
	VFMADD231PS Y7, Y7, Y3
	ADDQ $128, SI
	SUBQ $32, CX
	CMPQ CX, $32
	JAE lnr_vbig
lnr_vone:
	TESTQ CX, CX
	JZ lnr_vtail
lnr_voneloop:
	VMOVUPS 0(SI), Y4
	VSUBPS Y15, Y4, Y4
	VFMADD231PS Y4, Y4, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ lnr_voneloop
lnr_vtail:
	TESTQ R10, R10
	JZ lnr_vsum
	VMASKMOVPS (SI), Y13, Y4
	VSUBPS Y15, Y4, Y4
	VANDPS Y13, Y4, Y4
	VFMADD231PS Y4, Y4, Y1
lnr_vsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y2
	VEXTRACTF128 $1, Y2, X1
	VADDPS X1, X2, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDPS X1, X0, X0
	VDIVSS fd+40(FP), X0, X0
	VCVTSS2SD X0, X0, X0
	VMOVSS eps+44(FP), X1
	VCVTSS2SD X1, X1, X1
	VADDSD X1, X0, X0
	VSQRTSD X0, X0, X0
	VMOVSD lnOne<>(SB), X1
	VDIVSD X0, X1, X1
	VCVTSD2SS X1, X1, X1
	VMOVSS X1, inv+60(FP)
	VBROADCASTSS X1, Y14
	MOVQ dst+0(FP), DI
	MOVQ w+16(FP), R8
	MOVQ b+24(FP), R9
	MOVQ R12, SI
	MOVQ R13, CX
	CMPQ CX, $16
	JB lnr_aone
lnr_abig:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VSUBPS Y15, Y0, Y0
	VSUBPS Y15, Y1, Y1
	VMULPS Y14, Y0, Y0
	VMULPS Y14, Y1, Y1
	VMOVUPS 0(R9), Y2
	VMOVUPS 32(R9), Y3
	VFMADD231PS 0(R8), Y0, Y2
	VFMADD231PS 32(R8), Y1, Y3
	VMOVUPS Y2, 0(DI)
	VMOVUPS Y3, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	SUBQ $16, CX
	CMPQ CX, $16
	JAE lnr_abig
lnr_aone:
	TESTQ CX, CX
	JZ lnr_atail
	VMOVUPS 0(SI), Y0
	VSUBPS Y15, Y0, Y0
	VMULPS Y14, Y0, Y0
	VMOVUPS 0(R9), Y2
	VFMADD231PS 0(R8), Y0, Y2
	VMOVUPS Y2, 0(DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
lnr_atail:
	TESTQ R10, R10
	JZ lnr_done
	VMASKMOVPS (SI), Y13, Y0
	VSUBPS Y15, Y0, Y0
	VMULPS Y14, Y0, Y0
	VMASKMOVPS (R8), Y13, Y1
	VMASKMOVPS (R9), Y13, Y2
	VFMADD231PS Y1, Y0, Y2
	VMASKMOVPS Y2, Y13, (DI)
lnr_done:
	VZEROUPPER
	RET
