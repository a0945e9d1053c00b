//go:build amd64 && !purego

#include "textflag.h"

// The softmax row kernels (softmax_amd64.go). Each takes the
// multiple-of-8 prefix of its row as n and the rest (0 to 7 values) through
// VMASKMOVPS with the lane mask at mask (nil when there is none), so that
// no value past the row is read or written. Sums run over fixed lanes in a
// fixed order: a row gives the same bits whatever else runs.

// The constants of the vector exp, the same values as vec_amd64.s's (see
// expPortable).
DATA smExpHi<>+0(SB)/4, $0x42b20000
DATA smExpHi<>+4(SB)/4, $0x42b20000
DATA smExpHi<>+8(SB)/4, $0x42b20000
DATA smExpHi<>+12(SB)/4, $0x42b20000
DATA smExpHi<>+16(SB)/4, $0x42b20000
DATA smExpHi<>+20(SB)/4, $0x42b20000
DATA smExpHi<>+24(SB)/4, $0x42b20000
DATA smExpHi<>+28(SB)/4, $0x42b20000
GLOBL smExpHi<>(SB), RODATA|NOPTR, $32
DATA smExpLo<>+0(SB)/4, $0xc2d00000
DATA smExpLo<>+4(SB)/4, $0xc2d00000
DATA smExpLo<>+8(SB)/4, $0xc2d00000
DATA smExpLo<>+12(SB)/4, $0xc2d00000
DATA smExpLo<>+16(SB)/4, $0xc2d00000
DATA smExpLo<>+20(SB)/4, $0xc2d00000
DATA smExpLo<>+24(SB)/4, $0xc2d00000
DATA smExpLo<>+28(SB)/4, $0xc2d00000
GLOBL smExpLo<>(SB), RODATA|NOPTR, $32
DATA smLog2e<>+0(SB)/4, $0x3fb8aa3b
DATA smLog2e<>+4(SB)/4, $0x3fb8aa3b
DATA smLog2e<>+8(SB)/4, $0x3fb8aa3b
DATA smLog2e<>+12(SB)/4, $0x3fb8aa3b
DATA smLog2e<>+16(SB)/4, $0x3fb8aa3b
DATA smLog2e<>+20(SB)/4, $0x3fb8aa3b
DATA smLog2e<>+24(SB)/4, $0x3fb8aa3b
DATA smLog2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL smLog2e<>(SB), RODATA|NOPTR, $32
DATA smLn2Hi<>+0(SB)/4, $0x3f318000
DATA smLn2Hi<>+4(SB)/4, $0x3f318000
DATA smLn2Hi<>+8(SB)/4, $0x3f318000
DATA smLn2Hi<>+12(SB)/4, $0x3f318000
DATA smLn2Hi<>+16(SB)/4, $0x3f318000
DATA smLn2Hi<>+20(SB)/4, $0x3f318000
DATA smLn2Hi<>+24(SB)/4, $0x3f318000
DATA smLn2Hi<>+28(SB)/4, $0x3f318000
GLOBL smLn2Hi<>(SB), RODATA|NOPTR, $32
DATA smLn2Lo<>+0(SB)/4, $0xb95e8083
DATA smLn2Lo<>+4(SB)/4, $0xb95e8083
DATA smLn2Lo<>+8(SB)/4, $0xb95e8083
DATA smLn2Lo<>+12(SB)/4, $0xb95e8083
DATA smLn2Lo<>+16(SB)/4, $0xb95e8083
DATA smLn2Lo<>+20(SB)/4, $0xb95e8083
DATA smLn2Lo<>+24(SB)/4, $0xb95e8083
DATA smLn2Lo<>+28(SB)/4, $0xb95e8083
GLOBL smLn2Lo<>(SB), RODATA|NOPTR, $32
DATA smC7<>+0(SB)/4, $0x39500d01
DATA smC7<>+4(SB)/4, $0x39500d01
DATA smC7<>+8(SB)/4, $0x39500d01
DATA smC7<>+12(SB)/4, $0x39500d01
DATA smC7<>+16(SB)/4, $0x39500d01
DATA smC7<>+20(SB)/4, $0x39500d01
DATA smC7<>+24(SB)/4, $0x39500d01
DATA smC7<>+28(SB)/4, $0x39500d01
GLOBL smC7<>(SB), RODATA|NOPTR, $32
DATA smC6<>+0(SB)/4, $0x3ab60b61
DATA smC6<>+4(SB)/4, $0x3ab60b61
DATA smC6<>+8(SB)/4, $0x3ab60b61
DATA smC6<>+12(SB)/4, $0x3ab60b61
DATA smC6<>+16(SB)/4, $0x3ab60b61
DATA smC6<>+20(SB)/4, $0x3ab60b61
DATA smC6<>+24(SB)/4, $0x3ab60b61
DATA smC6<>+28(SB)/4, $0x3ab60b61
GLOBL smC6<>(SB), RODATA|NOPTR, $32
DATA smC5<>+0(SB)/4, $0x3c088889
DATA smC5<>+4(SB)/4, $0x3c088889
DATA smC5<>+8(SB)/4, $0x3c088889
DATA smC5<>+12(SB)/4, $0x3c088889
DATA smC5<>+16(SB)/4, $0x3c088889
DATA smC5<>+20(SB)/4, $0x3c088889
DATA smC5<>+24(SB)/4, $0x3c088889
DATA smC5<>+28(SB)/4, $0x3c088889
GLOBL smC5<>(SB), RODATA|NOPTR, $32
DATA smC4<>+0(SB)/4, $0x3d2aaaab
DATA smC4<>+4(SB)/4, $0x3d2aaaab
DATA smC4<>+8(SB)/4, $0x3d2aaaab
DATA smC4<>+12(SB)/4, $0x3d2aaaab
DATA smC4<>+16(SB)/4, $0x3d2aaaab
DATA smC4<>+20(SB)/4, $0x3d2aaaab
DATA smC4<>+24(SB)/4, $0x3d2aaaab
DATA smC4<>+28(SB)/4, $0x3d2aaaab
GLOBL smC4<>(SB), RODATA|NOPTR, $32
DATA smC3<>+0(SB)/4, $0x3e2aaaab
DATA smC3<>+4(SB)/4, $0x3e2aaaab
DATA smC3<>+8(SB)/4, $0x3e2aaaab
DATA smC3<>+12(SB)/4, $0x3e2aaaab
DATA smC3<>+16(SB)/4, $0x3e2aaaab
DATA smC3<>+20(SB)/4, $0x3e2aaaab
DATA smC3<>+24(SB)/4, $0x3e2aaaab
DATA smC3<>+28(SB)/4, $0x3e2aaaab
GLOBL smC3<>(SB), RODATA|NOPTR, $32
DATA smC2<>+0(SB)/4, $0x3f000000
DATA smC2<>+4(SB)/4, $0x3f000000
DATA smC2<>+8(SB)/4, $0x3f000000
DATA smC2<>+12(SB)/4, $0x3f000000
DATA smC2<>+16(SB)/4, $0x3f000000
DATA smC2<>+20(SB)/4, $0x3f000000
DATA smC2<>+24(SB)/4, $0x3f000000
DATA smC2<>+28(SB)/4, $0x3f000000
GLOBL smC2<>(SB), RODATA|NOPTR, $32
DATA smOne<>+0(SB)/4, $0x3f800000
DATA smOne<>+4(SB)/4, $0x3f800000
DATA smOne<>+8(SB)/4, $0x3f800000
DATA smOne<>+12(SB)/4, $0x3f800000
DATA smOne<>+16(SB)/4, $0x3f800000
DATA smOne<>+20(SB)/4, $0x3f800000
DATA smOne<>+24(SB)/4, $0x3f800000
DATA smOne<>+28(SB)/4, $0x3f800000
GLOBL smOne<>(SB), RODATA|NOPTR, $32
DATA smBias<>+0(SB)/4, $0x0000007f
DATA smBias<>+4(SB)/4, $0x0000007f
DATA smBias<>+8(SB)/4, $0x0000007f
DATA smBias<>+12(SB)/4, $0x0000007f
DATA smBias<>+16(SB)/4, $0x0000007f
DATA smBias<>+20(SB)/4, $0x0000007f
DATA smBias<>+24(SB)/4, $0x0000007f
DATA smBias<>+28(SB)/4, $0x0000007f
GLOBL smBias<>(SB), RODATA|NOPTR, $32

// The exp of eight lanes is expAVX2's: x clamped to [Y15, Y14] =
// [−104, 89] (NaN kept), reduced by k = round(x·log2e), a degree-7
// polynomial, scaled by 2^k in two halves. The lanes of a sum are added
// as dotAVX2 adds them: the halves, then pairs, then neighbours.

// func expShiftSumAVX2(x *float32, n int, shift float32, mask *int32) float32
// x[i] = exp(x[i] − shift); returns the sum, accumulated in one vector
// in row order, then its lanes added.
TEXT ·expShiftSumAVX2(SB), NOSPLIT, $0-36
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS shift+16(FP), Y13
	MOVQ mask+24(FP), R8
	VMOVUPS smExpHi<>(SB), Y14
	VMOVUPS smExpLo<>(SB), Y15
	VXORPS Y12, Y12, Y12
	CMPQ CX, $16
	JB ess_one
ess_big:
	VMOVUPS 0(SI), Y0
	VSUBPS Y13, Y0, Y0
	VMINPS Y0, Y14, Y0
	VMAXPS Y0, Y15, Y0
	VMULPS smLog2e<>(SB), Y0, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS smLn2Hi<>(SB), Y1, Y0
	VFNMADD231PS smLn2Lo<>(SB), Y1, Y0
	VMOVUPS smC7<>(SB), Y2
	VFMADD213PS smC6<>(SB), Y0, Y2
	VFMADD213PS smC5<>(SB), Y0, Y2
	VFMADD213PS smC4<>(SB), Y0, Y2
	VFMADD213PS smC3<>(SB), Y0, Y2
	VFMADD213PS smC2<>(SB), Y0, Y2
	VFMADD213PS smOne<>(SB), Y0, Y2
	VFMADD213PS smOne<>(SB), Y0, Y2
	VCVTPS2DQ Y1, Y1
	VPSRAD $1, Y1, Y3
	VPSUBD Y3, Y1, Y1
	VPADDD smBias<>(SB), Y3, Y3
	VPSLLD $23, Y3, Y3
	VPADDD smBias<>(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y3, Y2, Y2
	VMULPS Y1, Y2, Y2
	VMOVUPS Y2, 0(SI)
	VADDPS Y2, Y12, Y12
	VMOVUPS 32(SI), Y4
	VSUBPS Y13, Y4, Y4
	VMINPS Y4, Y14, Y4
	VMAXPS Y4, Y15, Y4
	VMULPS smLog2e<>(SB), Y4, Y5
	VROUNDPS $0, Y5, Y5
	VFNMADD231PS smLn2Hi<>(SB), Y5, Y4
	VFNMADD231PS smLn2Lo<>(SB), Y5, Y4
	VMOVUPS smC7<>(SB), Y6
	VFMADD213PS smC6<>(SB), Y4, Y6
	VFMADD213PS smC5<>(SB), Y4, Y6
	VFMADD213PS smC4<>(SB), Y4, Y6
	VFMADD213PS smC3<>(SB), Y4, Y6
	VFMADD213PS smC2<>(SB), Y4, Y6
	VFMADD213PS smOne<>(SB), Y4, Y6
	VFMADD213PS smOne<>(SB), Y4, Y6
	VCVTPS2DQ Y5, Y5
	VPSRAD $1, Y5, Y7
	VPSUBD Y7, Y5, Y5
	VPADDD smBias<>(SB), Y7, Y7
	VPSLLD $23, Y7, Y7
	VPADDD smBias<>(SB), Y5, Y5
	VPSLLD $23, Y5, Y5
	VMULPS Y7, Y6, Y6
	VMULPS Y5, Y6, Y6
	VMOVUPS Y6, 32(SI)
	VADDPS Y6, Y12, Y12
	ADDQ $64, SI
	SUBQ $16, CX
	CMPQ CX, $16
	JAE ess_big
ess_one:
	TESTQ CX, CX
	JZ ess_tail
	VMOVUPS 0(SI), Y0
	VSUBPS Y13, Y0, Y0
	VMINPS Y0, Y14, Y0
	VMAXPS Y0, Y15, Y0
	VMULPS smLog2e<>(SB), Y0, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS smLn2Hi<>(SB), Y1, Y0
	VFNMADD231PS smLn2Lo<>(SB), Y1, Y0
	VMOVUPS smC7<>(SB), Y2
	VFMADD213PS smC6<>(SB), Y0, Y2
	VFMADD213PS smC5<>(SB), Y0, Y2
	VFMADD213PS smC4<>(SB), Y0, Y2
	VFMADD213PS smC3<>(SB), Y0, Y2
	VFMADD213PS smC2<>(SB), Y0, Y2
	VFMADD213PS smOne<>(SB), Y0, Y2
	VFMADD213PS smOne<>(SB), Y0, Y2
	VCVTPS2DQ Y1, Y1
	VPSRAD $1, Y1, Y3
	VPSUBD Y3, Y1, Y1
	VPADDD smBias<>(SB), Y3, Y3
	VPSLLD $23, Y3, Y3
	VPADDD smBias<>(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y3, Y2, Y2
	VMULPS Y1, Y2, Y2
	VMOVUPS Y2, 0(SI)
	VADDPS Y2, Y12, Y12
	ADDQ $32, SI
ess_tail:
	TESTQ R8, R8
	JZ ess_done
	// The lanes past the row load as 0 and are masked to 0 before the
	// exp (no huge negative argument) and after it (no 1 in the sum).
	VMOVUPS (R8), Y8
	VMASKMOVPS (SI), Y8, Y0
	VSUBPS Y13, Y0, Y0
	VANDPS Y8, Y0, Y0
	VMINPS Y0, Y14, Y0
	VMAXPS Y0, Y15, Y0
	VMULPS smLog2e<>(SB), Y0, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS smLn2Hi<>(SB), Y1, Y0
	VFNMADD231PS smLn2Lo<>(SB), Y1, Y0
	VMOVUPS smC7<>(SB), Y2
	VFMADD213PS smC6<>(SB), Y0, Y2
	VFMADD213PS smC5<>(SB), Y0, Y2
	VFMADD213PS smC4<>(SB), Y0, Y2
	VFMADD213PS smC3<>(SB), Y0, Y2
	VFMADD213PS smC2<>(SB), Y0, Y2
	VFMADD213PS smOne<>(SB), Y0, Y2
	VFMADD213PS smOne<>(SB), Y0, Y2
	VCVTPS2DQ Y1, Y1
	VPSRAD $1, Y1, Y3
	VPSUBD Y3, Y1, Y1
	VPADDD smBias<>(SB), Y3, Y3
	VPSLLD $23, Y3, Y3
	VPADDD smBias<>(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y3, Y2, Y2
	VMULPS Y1, Y2, Y2
	VANDPS Y8, Y2, Y2
	VMASKMOVPS Y2, Y8, (SI)
	VADDPS Y2, Y12, Y12
ess_done:
	VEXTRACTF128 $1, Y12, X1
	VADDPS X1, X12, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDPS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+32(FP)
	RET

// func softmaxBackwardAVX2(e, dp *float32, n int, inv float32, mask *int32) float32
// Pass 1: s = Σ (e[i]·inv)·dp[i] in four vector accumulators over 32
// values at a time (the rest of the whole vectors in the first, the
// masked tail in the second), added (0+1)+(2+3), then its lanes. Pass 2:
// p = e[i]·inv into e, p·(dp[i] − s) into dp. Returns s.
TEXT ·softmaxBackwardAVX2(SB), NOSPLIT, $0-44
	MOVQ e+0(FP), SI
	MOVQ dp+8(FP), DX
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y15
	MOVQ mask+32(FP), R8
	MOVQ SI, R9
	MOVQ DX, R10
	MOVQ CX, R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JB smb_one
smb_big:
	VMULPS 0(SI), Y15, Y4
	VFMADD231PS 0(DX), Y4, Y0
	VMULPS 32(SI), Y15, Y5
	VFMADD231PS 32(DX), Y5, Y1
	VMULPS 64(SI), Y15, Y6
	VFMADD231PS 64(DX), Y6, Y2
	VMULPS 96(SI), Y15, Y7
	VFMADD231PS 96(DX), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DX
	SUBQ $32, CX
	CMPQ CX, $32
	JAE smb_big
smb_one:
	TESTQ CX, CX
	JZ smb_tail
smb_oneloop:
	VMULPS 0(SI), Y15, Y4
	VFMADD231PS 0(DX), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ smb_oneloop
smb_tail:
	TESTQ R8, R8
	JZ smb_sum
	VMOVUPS (R8), Y14
	VMASKMOVPS (SI), Y14, Y4
	VMASKMOVPS (DX), Y14, Y5
	VMULPS Y4, Y15, Y4
	VFMADD231PS Y5, Y4, Y1
smb_sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y2
	VEXTRACTF128 $1, Y2, X1
	VADDPS X1, X2, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDPS X1, X0, X0
	VBROADCASTSS X0, Y13
	MOVQ R9, SI
	MOVQ R10, DX
	MOVQ R11, CX
	TESTQ CX, CX
	JZ smb_tail2
smb_loop2:
	VMULPS 0(SI), Y15, Y4
	VMOVUPS 0(DX), Y5
	VMOVUPS Y4, 0(SI)
	VSUBPS Y13, Y5, Y5
	VMULPS Y4, Y5, Y5
	VMOVUPS Y5, 0(DX)
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ smb_loop2
smb_tail2:
	TESTQ R8, R8
	JZ smb_done
	VMASKMOVPS (SI), Y14, Y4
	VMASKMOVPS (DX), Y14, Y5
	VMULPS Y4, Y15, Y4
	VMASKMOVPS Y4, Y14, (SI)
	VSUBPS Y13, Y5, Y5
	VMULPS Y4, Y5, Y5
	VMASKMOVPS Y5, Y14, (DX)
smb_done:
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// func prefetchAVX2(x *float32, n int)
// Asks for the cache lines of x[0:n] (n > 0) with PREFETCHT0, from the
// line that holds x[0] to the one that holds x[n−1].
TEXT ·prefetchAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	LEAQ (SI)(CX*4), DX
	ANDQ $-64, SI
pf_loop:
	PREFETCHT0 (SI)
	ADDQ $64, SI
	CMPQ SI, DX
	JB pf_loop
	RET

// func expShiftSumAVX512(x *float32, n int, shift float32) float32
// expShiftSumAVX2 over sixteen lanes: the same exp, lane by lane (the
// same bits), the sum accumulated in one vector in row order, its halves
// then added as expShiftSumAVX2 adds its lanes. The last n%16 values go
// through a zero-masking load and a masked store: lanes past the row are
// neither read nor written, and are zeroed before the sum.
TEXT ·expShiftSumAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS shift+16(FP), Z13
	VBROADCASTSS smExpHi<>(SB), Z14
	VBROADCASTSS smExpLo<>(SB), Z15
	VPXORD Z12, Z12, Z12
	CMPQ CX, $32
	JB esz_one
esz_two:
	VMOVUPS 0(SI), Z0
	VMOVUPS 64(SI), Z4
	VSUBPS Z13, Z0, Z0
	VMINPS Z0, Z14, Z0
	VMAXPS Z0, Z15, Z0
	VMULPS.BCST smLog2e<>(SB), Z0, Z1
	VRNDSCALEPS $0, Z1, Z1
	VFNMADD231PS.BCST smLn2Hi<>(SB), Z1, Z0
	VFNMADD231PS.BCST smLn2Lo<>(SB), Z1, Z0
	VBROADCASTSS smC7<>(SB), Z2
	VFMADD213PS.BCST smC6<>(SB), Z0, Z2
	VFMADD213PS.BCST smC5<>(SB), Z0, Z2
	VFMADD213PS.BCST smC4<>(SB), Z0, Z2
	VFMADD213PS.BCST smC3<>(SB), Z0, Z2
	VFMADD213PS.BCST smC2<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VCVTPS2DQ Z1, Z1
	VPSRAD $1, Z1, Z3
	VPSUBD Z3, Z1, Z1
	VPADDD.BCST smBias<>(SB), Z3, Z3
	VPSLLD $23, Z3, Z3
	VPADDD.BCST smBias<>(SB), Z1, Z1
	VPSLLD $23, Z1, Z1
	VMULPS Z3, Z2, Z2
	VMULPS Z1, Z2, Z2
	VSUBPS Z13, Z4, Z4
	VMINPS Z4, Z14, Z4
	VMAXPS Z4, Z15, Z4
	VMULPS.BCST smLog2e<>(SB), Z4, Z5
	VRNDSCALEPS $0, Z5, Z5
	VFNMADD231PS.BCST smLn2Hi<>(SB), Z5, Z4
	VFNMADD231PS.BCST smLn2Lo<>(SB), Z5, Z4
	VBROADCASTSS smC7<>(SB), Z6
	VFMADD213PS.BCST smC6<>(SB), Z4, Z6
	VFMADD213PS.BCST smC5<>(SB), Z4, Z6
	VFMADD213PS.BCST smC4<>(SB), Z4, Z6
	VFMADD213PS.BCST smC3<>(SB), Z4, Z6
	VFMADD213PS.BCST smC2<>(SB), Z4, Z6
	VFMADD213PS.BCST smOne<>(SB), Z4, Z6
	VFMADD213PS.BCST smOne<>(SB), Z4, Z6
	VCVTPS2DQ Z5, Z5
	VPSRAD $1, Z5, Z7
	VPSUBD Z7, Z5, Z5
	VPADDD.BCST smBias<>(SB), Z7, Z7
	VPSLLD $23, Z7, Z7
	VPADDD.BCST smBias<>(SB), Z5, Z5
	VPSLLD $23, Z5, Z5
	VMULPS Z7, Z6, Z6
	VMULPS Z5, Z6, Z6
	VMOVUPS Z2, 0(SI)
	VMOVUPS Z6, 64(SI)
	VADDPS Z2, Z12, Z12
	VADDPS Z6, Z12, Z12
	ADDQ $128, SI
	SUBQ $32, CX
	CMPQ CX, $32
	JAE esz_two
esz_one:
	CMPQ CX, $16
	JB esz_tail
	VMOVUPS 0(SI), Z0
	VSUBPS Z13, Z0, Z0
	VMINPS Z0, Z14, Z0
	VMAXPS Z0, Z15, Z0
	VMULPS.BCST smLog2e<>(SB), Z0, Z1
	VRNDSCALEPS $0, Z1, Z1
	VFNMADD231PS.BCST smLn2Hi<>(SB), Z1, Z0
	VFNMADD231PS.BCST smLn2Lo<>(SB), Z1, Z0
	VBROADCASTSS smC7<>(SB), Z2
	VFMADD213PS.BCST smC6<>(SB), Z0, Z2
	VFMADD213PS.BCST smC5<>(SB), Z0, Z2
	VFMADD213PS.BCST smC4<>(SB), Z0, Z2
	VFMADD213PS.BCST smC3<>(SB), Z0, Z2
	VFMADD213PS.BCST smC2<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VCVTPS2DQ Z1, Z1
	VPSRAD $1, Z1, Z3
	VPSUBD Z3, Z1, Z1
	VPADDD.BCST smBias<>(SB), Z3, Z3
	VPSLLD $23, Z3, Z3
	VPADDD.BCST smBias<>(SB), Z1, Z1
	VPSLLD $23, Z1, Z1
	VMULPS Z3, Z2, Z2
	VMULPS Z1, Z2, Z2
	VMOVUPS Z2, 0(SI)
	VADDPS Z2, Z12, Z12
	ADDQ $64, SI
	SUBQ $16, CX
esz_tail:
	TESTQ CX, CX
	JZ esz_done
	MOVL $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z0
	VSUBPS Z13, Z0, Z0
	VMINPS Z0, Z14, Z0
	VMAXPS Z0, Z15, Z0
	VMULPS.BCST smLog2e<>(SB), Z0, Z1
	VRNDSCALEPS $0, Z1, Z1
	VFNMADD231PS.BCST smLn2Hi<>(SB), Z1, Z0
	VFNMADD231PS.BCST smLn2Lo<>(SB), Z1, Z0
	VBROADCASTSS smC7<>(SB), Z2
	VFMADD213PS.BCST smC6<>(SB), Z0, Z2
	VFMADD213PS.BCST smC5<>(SB), Z0, Z2
	VFMADD213PS.BCST smC4<>(SB), Z0, Z2
	VFMADD213PS.BCST smC3<>(SB), Z0, Z2
	VFMADD213PS.BCST smC2<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VCVTPS2DQ Z1, Z1
	VPSRAD $1, Z1, Z3
	VPSUBD Z3, Z1, Z1
	VPADDD.BCST smBias<>(SB), Z3, Z3
	VPSLLD $23, Z3, Z3
	VPADDD.BCST smBias<>(SB), Z1, Z1
	VPSLLD $23, Z1, Z1
	VMULPS Z3, Z2, Z2
	VMULPS Z1, Z2, Z2
	VMOVUPS.Z Z2, K1, Z2
	VMOVUPS Z2, K1, (SI)
	VADDPS Z2, Z12, Z12
esz_done:
	VEXTRACTI64X4 $1, Z12, Y1
	VADDPS Y1, Y12, Y12
	VEXTRACTF128 $1, Y12, X1
	VADDPS X1, X12, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDPS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func softmaxBackwardAVX512(e, dp *float32, n int, inv float32, w int) float32
// softmaxBackwardAVX2 (the same operations in the same order, so the
// same bits), its last w < 8 values loaded and stored through the mask
// register K1 rather than VMASKMOVPS, whose masked stores are slow on
// some processors.
TEXT ·softmaxBackwardAVX512(SB), NOSPLIT, $0-44
	MOVQ e+0(FP), SI
	MOVQ dp+8(FP), DX
	MOVQ w+32(FP), R8
	MOVQ R8, CX
	MOVL $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y15
	MOVQ SI, R9
	MOVQ DX, R10
	MOVQ CX, R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JB smz_one
smz_big:
	VMULPS 0(SI), Y15, Y4
	VFMADD231PS 0(DX), Y4, Y0
	VMULPS 32(SI), Y15, Y5
	VFMADD231PS 32(DX), Y5, Y1
	VMULPS 64(SI), Y15, Y6
	VFMADD231PS 64(DX), Y6, Y2
	VMULPS 96(SI), Y15, Y7
	VFMADD231PS 96(DX), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DX
	SUBQ $32, CX
	CMPQ CX, $32
	JAE smz_big
smz_one:
	TESTQ CX, CX
	JZ smz_tail
smz_oneloop:
	VMULPS 0(SI), Y15, Y4
	VFMADD231PS 0(DX), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ smz_oneloop
smz_tail:
	TESTQ R8, R8
	JZ smz_sum
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS.Z (DX), K1, Z5
	VMULPS Y4, Y15, Y4
	VFMADD231PS Y5, Y4, Y1
smz_sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y2
	VEXTRACTF128 $1, Y2, X1
	VADDPS X1, X2, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDPS X1, X0, X0
	VBROADCASTSS X0, Y13
	MOVQ R9, SI
	MOVQ R10, DX
	MOVQ R11, CX
	TESTQ CX, CX
	JZ smz_tail2
smz_loop2:
	VMULPS 0(SI), Y15, Y4
	VMOVUPS 0(DX), Y5
	VMOVUPS Y4, 0(SI)
	VSUBPS Y13, Y5, Y5
	VMULPS Y4, Y5, Y5
	VMOVUPS Y5, 0(DX)
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ smz_loop2
smz_tail2:
	TESTQ R8, R8
	JZ smz_done
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS.Z (DX), K1, Z5
	VMULPS Y4, Y15, Y4
	VMOVUPS Z4, K1, (SI)
	VSUBPS Y13, Y5, Y5
	VMULPS Y4, Y5, Y5
	VMOVUPS Z5, K1, (DX)
smz_done:
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET


DATA smNegInf<>+0(SB)/4, $0xff800000
GLOBL smNegInf<>(SB), RODATA|NOPTR, $4

// func softmaxExpAVX512(x *float32, n int) (m, sum float32)
// A softmax row's exponentials in one call: m = max x (NaN when x holds
// one), as maxAVX2 and maxPortable find it, over eight lanes with the
// last n%8 values merged into −Inf lanes through K1; then x[i] =
// exp(x[i] − m) and their sum as expShiftSumAVX512 computes them. n > 0.
TEXT ·softmaxExpAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ SI, R9
	MOVQ CX, R11
	VBROADCASTSS smNegInf<>(SB), Z0
	VXORPS Y8, Y8, Y8
	CMPQ CX, $8
	JB sme_maxtail
sme_maxloop:
	VMOVUPS 0(SI), Y4
	VMAXPS Y0, Y4, Y0
	VCMPPS $3, Y4, Y8, Y8
	ADDQ $32, SI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE sme_maxloop
sme_maxtail:
	TESTQ CX, CX
	JZ sme_maxdone
	MOVL $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VBROADCASTSS smNegInf<>(SB), Z4
	VMOVUPS (SI), K1, Z4
	VMAXPS Y0, Y4, Y0
	VCMPPS $3, Y4, Y8, Y8
sme_maxdone:
	// The lanes' maximum, then any NaN lane's all-ones pattern (a NaN)
	// ORed in.
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VEXTRACTF128 $1, Y8, X1
	VORPS X1, X8, X8
	VPERMILPS $0x4e, X8, X1
	VORPS X1, X8, X8
	VPERMILPS $0xb1, X8, X1
	VORPS X1, X8, X8
	VORPS X8, X0, X0
	MOVSS X0, m+16(FP)
	// Every value −Inf: no exponentials, x left alone, sum 0.
	MOVL m+16(FP), AX
	CMPL AX, $0xff800000
	JZ sme_empty
	VBROADCASTSS X0, Z13
	MOVQ R9, SI
	MOVQ R11, CX
	VBROADCASTSS smExpHi<>(SB), Z14
	VBROADCASTSS smExpLo<>(SB), Z15
	VPXORD Z12, Z12, Z12
	CMPQ CX, $16
	JB sme_tail
sme_loop:
	VMOVUPS 0(SI), Z0
	VSUBPS Z13, Z0, Z0
	VMINPS Z0, Z14, Z0
	VMAXPS Z0, Z15, Z0
	VMULPS.BCST smLog2e<>(SB), Z0, Z1
	VRNDSCALEPS $0, Z1, Z1
	VFNMADD231PS.BCST smLn2Hi<>(SB), Z1, Z0
	VFNMADD231PS.BCST smLn2Lo<>(SB), Z1, Z0
	VBROADCASTSS smC7<>(SB), Z2
	VFMADD213PS.BCST smC6<>(SB), Z0, Z2
	VFMADD213PS.BCST smC5<>(SB), Z0, Z2
	VFMADD213PS.BCST smC4<>(SB), Z0, Z2
	VFMADD213PS.BCST smC3<>(SB), Z0, Z2
	VFMADD213PS.BCST smC2<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VCVTPS2DQ Z1, Z1
	VPSRAD $1, Z1, Z3
	VPSUBD Z3, Z1, Z1
	VPADDD.BCST smBias<>(SB), Z3, Z3
	VPSLLD $23, Z3, Z3
	VPADDD.BCST smBias<>(SB), Z1, Z1
	VPSLLD $23, Z1, Z1
	VMULPS Z3, Z2, Z2
	VMULPS Z1, Z2, Z2
	VMOVUPS Z2, 0(SI)
	VADDPS Z2, Z12, Z12
	ADDQ $64, SI
	SUBQ $16, CX
	CMPQ CX, $16
	JAE sme_loop
sme_tail:
	TESTQ CX, CX
	JZ sme_done
	MOVL $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z0
	VSUBPS Z13, Z0, Z0
	VMINPS Z0, Z14, Z0
	VMAXPS Z0, Z15, Z0
	VMULPS.BCST smLog2e<>(SB), Z0, Z1
	VRNDSCALEPS $0, Z1, Z1
	VFNMADD231PS.BCST smLn2Hi<>(SB), Z1, Z0
	VFNMADD231PS.BCST smLn2Lo<>(SB), Z1, Z0
	VBROADCASTSS smC7<>(SB), Z2
	VFMADD213PS.BCST smC6<>(SB), Z0, Z2
	VFMADD213PS.BCST smC5<>(SB), Z0, Z2
	VFMADD213PS.BCST smC4<>(SB), Z0, Z2
	VFMADD213PS.BCST smC3<>(SB), Z0, Z2
	VFMADD213PS.BCST smC2<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VFMADD213PS.BCST smOne<>(SB), Z0, Z2
	VCVTPS2DQ Z1, Z1
	VPSRAD $1, Z1, Z3
	VPSUBD Z3, Z1, Z1
	VPADDD.BCST smBias<>(SB), Z3, Z3
	VPSLLD $23, Z3, Z3
	VPADDD.BCST smBias<>(SB), Z1, Z1
	VPSLLD $23, Z1, Z1
	VMULPS Z3, Z2, Z2
	VMULPS Z1, Z2, Z2
	VMOVUPS.Z Z2, K1, Z2
	VMOVUPS Z2, K1, (SI)
	VADDPS Z2, Z12, Z12
sme_done:
	VEXTRACTI64X4 $1, Z12, Y1
	VADDPS Y1, Y12, Y12
	VEXTRACTF128 $1, Y12, X1
	VADDPS X1, X12, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDPS X1, X0, X0
	VZEROUPPER
	MOVSS X0, sum+20(FP)
	RET
sme_empty:
	VZEROUPPER
	MOVL $0, sum+20(FP)
	RET
