//go:build amd64 && !purego

#include "textflag.h"

// The Winograd F(2×2, 3×3) transforms over 8 lanes at a time (AVX2), in
// the order of their portable twins in wino.go, which they match bit for
// bit. Every kernel takes element strides and nb ≥ 1 blocks of 8 lanes.

// func winoInAVX2(dst *float32, ds int, src *float32, rs, cs, nb int)
//
// Registers: R8–R11 the four input rows, CX and R12 one and three column
// strides; DI the output, AX one ξ stride, R13 and R14 four and twelve;
// SI the output column being written; DX the blocks left.
TEXT ·winoInAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ds+8(FP), AX
	MOVQ src+16(FP), R8
	MOVQ rs+24(FP), BX
	MOVQ cs+32(FP), CX
	MOVQ nb+40(FP), DX
	SHLQ $2, AX
	SHLQ $2, BX
	SHLQ $2, CX
	LEAQ (R8)(BX*1), R9
	LEAQ (R8)(BX*2), R10
	LEAQ (R9)(BX*2), R11
	LEAQ (CX)(CX*2), R12
	LEAQ (AX*4), R13
	LEAQ (R13)(R13*2), R14

winoIn_loop:
	// Row i of d into e[i][0..3]: e0 = d0−d2 in Y(4i), e2 = d2−d1 in
	// Y(4i+1), e1 = d1+d2 in Y(4i+2), e3 = d1−d3 in Y(4i+3).
	VMOVUPS (R8)(CX*2), Y1
	VMOVUPS (R8), Y0
	VSUBPS  Y1, Y0, Y0
	VMOVUPS (R8)(CX*1), Y3
	VADDPS  Y1, Y3, Y2
	VSUBPS  (R8)(CX*1), Y1, Y1
	VSUBPS  (R8)(R12*1), Y3, Y3

	VMOVUPS (R9)(CX*2), Y5
	VMOVUPS (R9), Y4
	VSUBPS  Y5, Y4, Y4
	VMOVUPS (R9)(CX*1), Y7
	VADDPS  Y5, Y7, Y6
	VSUBPS  (R9)(CX*1), Y5, Y5
	VSUBPS  (R9)(R12*1), Y7, Y7

	VMOVUPS (R10)(CX*2), Y9
	VMOVUPS (R10), Y8
	VSUBPS  Y9, Y8, Y8
	VMOVUPS (R10)(CX*1), Y11
	VADDPS  Y9, Y11, Y10
	VSUBPS  (R10)(CX*1), Y9, Y9
	VSUBPS  (R10)(R12*1), Y11, Y11

	VMOVUPS (R11)(CX*2), Y13
	VMOVUPS (R11), Y12
	VSUBPS  Y13, Y12, Y12
	VMOVUPS (R11)(CX*1), Y15
	VADDPS  Y13, Y15, Y14
	VSUBPS  (R11)(CX*1), Y13, Y13
	VSUBPS  (R11)(R12*1), Y15, Y15

	// Column c, from e0c…e3c: V[0][c] = e0c−e2c, V[1][c] = e1c+e2c,
	// V[2][c] = e2c−e1c, V[3][c] = e1c−e3c, at ξ = 4r + c.
	MOVQ DI, SI
	VSUBPS  Y8, Y0, Y0
	VMOVUPS Y0, (SI)
	VADDPS  Y8, Y4, Y0
	VMOVUPS Y0, (SI)(R13*1)
	VSUBPS  Y4, Y8, Y8
	VMOVUPS Y8, (SI)(R13*2)
	VSUBPS  Y12, Y4, Y4
	VMOVUPS Y4, (SI)(R14*1)
	ADDQ AX, SI
	VSUBPS  Y10, Y2, Y2
	VMOVUPS Y2, (SI)
	VADDPS  Y10, Y6, Y2
	VMOVUPS Y2, (SI)(R13*1)
	VSUBPS  Y6, Y10, Y10
	VMOVUPS Y10, (SI)(R13*2)
	VSUBPS  Y14, Y6, Y6
	VMOVUPS Y6, (SI)(R14*1)
	ADDQ AX, SI
	VSUBPS  Y9, Y1, Y1
	VMOVUPS Y1, (SI)
	VADDPS  Y9, Y5, Y1
	VMOVUPS Y1, (SI)(R13*1)
	VSUBPS  Y5, Y9, Y9
	VMOVUPS Y9, (SI)(R13*2)
	VSUBPS  Y13, Y5, Y5
	VMOVUPS Y5, (SI)(R14*1)
	ADDQ AX, SI
	VSUBPS  Y11, Y3, Y3
	VMOVUPS Y3, (SI)
	VADDPS  Y11, Y7, Y3
	VMOVUPS Y3, (SI)(R13*1)
	VSUBPS  Y7, Y11, Y11
	VMOVUPS Y11, (SI)(R13*2)
	VSUBPS  Y15, Y7, Y7
	VMOVUPS Y7, (SI)(R14*1)

	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, DI
	DECQ DX
	JNZ  winoIn_loop
	VZEROUPPER
	RET

// func winoOutAVX2(dst *float32, os int, src *float32, ss, nb int)
//
// Registers: R8–R11 rows r = 0…3 of M (ξ = 4r + c), AX and R12 one and
// three column strides; DI the output, BX and R13 one and three output
// strides; DX the blocks left.
TEXT ·winoOutAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ os+8(FP), BX
	MOVQ src+16(FP), R8
	MOVQ ss+24(FP), AX
	MOVQ nb+32(FP), DX
	SHLQ $2, AX
	SHLQ $2, BX
	LEAQ (AX*4), CX
	LEAQ (R8)(CX*1), R9
	LEAQ (R8)(CX*2), R10
	LEAQ (R9)(CX*2), R11
	LEAQ (AX)(AX*2), R12
	LEAQ (BX)(BX*2), R13

winoOut_loop:
	// q[r][0] = m0+m1+m2 in Y(2r), q[r][1] = m1−m2−m3 in Y(2r+1).
	VMOVUPS (R8), Y0
	VADDPS  (R8)(AX*1), Y0, Y0
	VADDPS  (R8)(AX*2), Y0, Y0
	VMOVUPS (R8)(AX*1), Y1
	VSUBPS  (R8)(AX*2), Y1, Y1
	VSUBPS  (R8)(R12*1), Y1, Y1
	VMOVUPS (R9), Y2
	VADDPS  (R9)(AX*1), Y2, Y2
	VADDPS  (R9)(AX*2), Y2, Y2
	VMOVUPS (R9)(AX*1), Y3
	VSUBPS  (R9)(AX*2), Y3, Y3
	VSUBPS  (R9)(R12*1), Y3, Y3
	VMOVUPS (R10), Y4
	VADDPS  (R10)(AX*1), Y4, Y4
	VADDPS  (R10)(AX*2), Y4, Y4
	VMOVUPS (R10)(AX*1), Y5
	VSUBPS  (R10)(AX*2), Y5, Y5
	VSUBPS  (R10)(R12*1), Y5, Y5
	VMOVUPS (R11), Y6
	VADDPS  (R11)(AX*1), Y6, Y6
	VADDPS  (R11)(AX*2), Y6, Y6
	VMOVUPS (R11)(AX*1), Y7
	VSUBPS  (R11)(AX*2), Y7, Y7
	VSUBPS  (R11)(R12*1), Y7, Y7
	// y[0][j] = q0j+q1j+q2j, y[1][j] = q1j−q2j−q3j, at (2i + j)·os.
	VADDPS  Y2, Y0, Y8
	VADDPS  Y4, Y8, Y8
	VMOVUPS Y8, (DI)
	VSUBPS  Y4, Y2, Y9
	VSUBPS  Y6, Y9, Y9
	VMOVUPS Y9, (DI)(BX*2)
	VADDPS  Y3, Y1, Y8
	VADDPS  Y5, Y8, Y8
	VMOVUPS Y8, (DI)(BX*1)
	VSUBPS  Y5, Y3, Y9
	VSUBPS  Y7, Y9, Y9
	VMOVUPS Y9, (DI)(R13*1)
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, DI
	DECQ DX
	JNZ  winoOut_loop
	VZEROUPPER
	RET

// func winoOutGradAVX2(dst *float32, ds int, src *float32, ss, nb int)
//
// Registers: SI the output gradients dY (at (2i + j)·ss, AX and R12 one
// and three strides); DI the output, BX one ξ stride, R13 and R14 four
// and twelve, R8 the output column; DX the blocks left; Y15 the sign bits.
TEXT ·winoOutGradAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ds+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ ss+24(FP), AX
	MOVQ nb+32(FP), DX
	SHLQ $2, AX
	SHLQ $2, BX
	LEAQ (AX)(AX*2), R12
	LEAQ (BX*4), R13
	LEAQ (R13)(R13*2), R14
	VPCMPEQD Y15, Y15, Y15
	VPSLLD   $31, Y15, Y15

winoOutGrad_loop:
	// h[i] = (y0, y0+y1, y0−y1, −y1): h[0][c] in Y(c), h[1][c] in Y(4+c).
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(AX*1), Y3
	VADDPS  Y3, Y0, Y1
	VSUBPS  Y3, Y0, Y2
	VXORPS  Y15, Y3, Y3
	VMOVUPS (SI)(AX*2), Y4
	VMOVUPS (SI)(R12*1), Y7
	VADDPS  Y7, Y4, Y5
	VSUBPS  Y7, Y4, Y6
	VXORPS  Y15, Y7, Y7
	// dM[0][c] = h0c, dM[1][c] = h0c+h1c, dM[2][c] = h0c−h1c, dM[3][c] = −h1c.
	MOVQ DI, R8
	VMOVUPS Y0, (R8)
	VADDPS  Y4, Y0, Y8
	VMOVUPS Y8, (R8)(R13*1)
	VSUBPS  Y4, Y0, Y9
	VMOVUPS Y9, (R8)(R13*2)
	VXORPS  Y15, Y4, Y10
	VMOVUPS Y10, (R8)(R14*1)
	ADDQ BX, R8
	VMOVUPS Y1, (R8)
	VADDPS  Y5, Y1, Y8
	VMOVUPS Y8, (R8)(R13*1)
	VSUBPS  Y5, Y1, Y9
	VMOVUPS Y9, (R8)(R13*2)
	VXORPS  Y15, Y5, Y10
	VMOVUPS Y10, (R8)(R14*1)
	ADDQ BX, R8
	VMOVUPS Y2, (R8)
	VADDPS  Y6, Y2, Y8
	VMOVUPS Y8, (R8)(R13*1)
	VSUBPS  Y6, Y2, Y9
	VMOVUPS Y9, (R8)(R13*2)
	VXORPS  Y15, Y6, Y10
	VMOVUPS Y10, (R8)(R14*1)
	ADDQ BX, R8
	VMOVUPS Y3, (R8)
	VADDPS  Y7, Y3, Y8
	VMOVUPS Y8, (R8)(R13*1)
	VSUBPS  Y7, Y3, Y9
	VMOVUPS Y9, (R8)(R13*2)
	VXORPS  Y15, Y7, Y10
	VMOVUPS Y10, (R8)(R14*1)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ DX
	JNZ  winoOutGrad_loop
	VZEROUPPER
	RET

// func winoInGradAddAVX2(dst *float32, rs, cs int, src *float32, ss, nb int)
//
// Registers: R8–R11 rows r = 0…3 of dV (ξ = 4r + c), AX and R12 one and
// three column strides; DI the input gradient, BX and R13 one and three
// row strides, CX one column stride, R14 the column being written; DX the
// blocks left; Y15 the sign bits.
TEXT ·winoInGradAddAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ rs+8(FP), BX
	MOVQ cs+16(FP), CX
	MOVQ src+24(FP), R8
	MOVQ ss+32(FP), AX
	MOVQ nb+40(FP), DX
	SHLQ $2, AX
	SHLQ $2, BX
	SHLQ $2, CX
	LEAQ (AX*4), R14
	LEAQ (R8)(R14*1), R9
	LEAQ (R8)(R14*2), R10
	LEAQ (R9)(R14*2), R11
	LEAQ (AX)(AX*2), R12
	LEAQ (BX)(BX*2), R13
	VPCMPEQD Y15, Y15, Y15
	VPSLLD   $31, Y15, Y15

winoInGradAdd_loop:
	MOVQ DI, R14
	// Column 0: f[r][0] in Y(r); dd[0] = f0, dd[1] = f1−f2+f3, dd[2] = f1+f2−f0, dd[3] = −f3.
	VMOVUPS (R8), Y0
	VMOVUPS (R9), Y1
	VMOVUPS (R10), Y2
	VMOVUPS (R11), Y3
	VADDPS  (R14), Y0, Y4
	VMOVUPS Y4, (R14)
	VSUBPS  Y2, Y1, Y5
	VADDPS  Y3, Y5, Y5
	VADDPS  (R14)(BX*1), Y5, Y5
	VMOVUPS Y5, (R14)(BX*1)
	VADDPS  Y2, Y1, Y6
	VSUBPS  Y0, Y6, Y6
	VADDPS  (R14)(BX*2), Y6, Y6
	VMOVUPS Y6, (R14)(BX*2)
	VMOVUPS (R14)(R13*1), Y7
	VSUBPS  Y3, Y7, Y7
	VMOVUPS Y7, (R14)(R13*1)
	// Column 1: f[r][1] in Y(r); dd[0] = f0, dd[1] = f1−f2+f3, dd[2] = f1+f2−f0, dd[3] = −f3.
	ADDQ CX, R14
	VMOVUPS (R8)(AX*1), Y0
	VSUBPS  (R8)(AX*2), Y0, Y0
	VADDPS  (R8)(R12*1), Y0, Y0
	VMOVUPS (R9)(AX*1), Y1
	VSUBPS  (R9)(AX*2), Y1, Y1
	VADDPS  (R9)(R12*1), Y1, Y1
	VMOVUPS (R10)(AX*1), Y2
	VSUBPS  (R10)(AX*2), Y2, Y2
	VADDPS  (R10)(R12*1), Y2, Y2
	VMOVUPS (R11)(AX*1), Y3
	VSUBPS  (R11)(AX*2), Y3, Y3
	VADDPS  (R11)(R12*1), Y3, Y3
	VADDPS  (R14), Y0, Y4
	VMOVUPS Y4, (R14)
	VSUBPS  Y2, Y1, Y5
	VADDPS  Y3, Y5, Y5
	VADDPS  (R14)(BX*1), Y5, Y5
	VMOVUPS Y5, (R14)(BX*1)
	VADDPS  Y2, Y1, Y6
	VSUBPS  Y0, Y6, Y6
	VADDPS  (R14)(BX*2), Y6, Y6
	VMOVUPS Y6, (R14)(BX*2)
	VMOVUPS (R14)(R13*1), Y7
	VSUBPS  Y3, Y7, Y7
	VMOVUPS Y7, (R14)(R13*1)
	// Column 2: f[r][2] in Y(r); dd[0] = f0, dd[1] = f1−f2+f3, dd[2] = f1+f2−f0, dd[3] = −f3.
	ADDQ CX, R14
	VMOVUPS (R8)(AX*1), Y0
	VADDPS  (R8)(AX*2), Y0, Y0
	VSUBPS  (R8), Y0, Y0
	VMOVUPS (R9)(AX*1), Y1
	VADDPS  (R9)(AX*2), Y1, Y1
	VSUBPS  (R9), Y1, Y1
	VMOVUPS (R10)(AX*1), Y2
	VADDPS  (R10)(AX*2), Y2, Y2
	VSUBPS  (R10), Y2, Y2
	VMOVUPS (R11)(AX*1), Y3
	VADDPS  (R11)(AX*2), Y3, Y3
	VSUBPS  (R11), Y3, Y3
	VADDPS  (R14), Y0, Y4
	VMOVUPS Y4, (R14)
	VSUBPS  Y2, Y1, Y5
	VADDPS  Y3, Y5, Y5
	VADDPS  (R14)(BX*1), Y5, Y5
	VMOVUPS Y5, (R14)(BX*1)
	VADDPS  Y2, Y1, Y6
	VSUBPS  Y0, Y6, Y6
	VADDPS  (R14)(BX*2), Y6, Y6
	VMOVUPS Y6, (R14)(BX*2)
	VMOVUPS (R14)(R13*1), Y7
	VSUBPS  Y3, Y7, Y7
	VMOVUPS Y7, (R14)(R13*1)
	// Column 3: f[r][3] in Y(r); dd[0] = f0, dd[1] = f1−f2+f3, dd[2] = f1+f2−f0, dd[3] = −f3.
	ADDQ CX, R14
	VMOVUPS (R8)(R12*1), Y0
	VXORPS  Y15, Y0, Y0
	VMOVUPS (R9)(R12*1), Y1
	VXORPS  Y15, Y1, Y1
	VMOVUPS (R10)(R12*1), Y2
	VXORPS  Y15, Y2, Y2
	VMOVUPS (R11)(R12*1), Y3
	VXORPS  Y15, Y3, Y3
	VADDPS  (R14), Y0, Y4
	VMOVUPS Y4, (R14)
	VSUBPS  Y2, Y1, Y5
	VADDPS  Y3, Y5, Y5
	VADDPS  (R14)(BX*1), Y5, Y5
	VMOVUPS Y5, (R14)(BX*1)
	VADDPS  Y2, Y1, Y6
	VSUBPS  Y0, Y6, Y6
	VADDPS  (R14)(BX*2), Y6, Y6
	VMOVUPS Y6, (R14)(BX*2)
	VMOVUPS (R14)(R13*1), Y7
	VSUBPS  Y3, Y7, Y7
	VMOVUPS Y7, (R14)(R13*1)
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, DI
	DECQ DX
	JNZ  winoInGradAdd_loop
	VZEROUPPER
	RET

// func winoPoolAVX2(dst *float32, win *int32, q *float32, qs int, b *float32, nb int)
//
// For each lane: the four outputs q[c·qs] plus the bias, the first
// maximal one (or the first NaN) rectified into dst and its position into
// win, −1 where the result is +0. Y12–Y14 hold the positions 1 to 3, Y15
// zero.
TEXT ·winoPoolAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ win+8(FP), R8
	MOVQ q+16(FP), SI
	MOVQ qs+24(FP), AX
	MOVQ b+32(FP), R9
	MOVQ nb+40(FP), DX
	SHLQ $2, AX
	LEAQ (AX)(AX*2), R10
	VPCMPEQD Y12, Y12, Y12
	VPSRLD   $31, Y12, Y12
	VPADDD   Y12, Y12, Y13
	VPADDD   Y12, Y13, Y14
	VXORPS   Y15, Y15, Y15

winoPool_loop:
	VMOVUPS (R9), Y8
	VADDPS  (SI), Y8, Y0
	VADDPS  (SI)(AX*1), Y8, Y1
	VADDPS  (SI)(AX*2), Y8, Y2
	VADDPS  (SI)(R10*1), Y8, Y3
	VXORPS  Y4, Y4, Y4
	// A later output replaces the best when the best is not NaN and the
	// output is not ≤ it.
	VCMPPS    $7, Y0, Y0, Y5
	VCMPPS    $6, Y0, Y1, Y6
	VANDPS    Y5, Y6, Y6
	VBLENDVPS Y6, Y1, Y0, Y0
	VBLENDVPS Y6, Y12, Y4, Y4
	VCMPPS    $7, Y0, Y0, Y5
	VCMPPS    $6, Y0, Y2, Y6
	VANDPS    Y5, Y6, Y6
	VBLENDVPS Y6, Y2, Y0, Y0
	VBLENDVPS Y6, Y13, Y4, Y4
	VCMPPS    $7, Y0, Y0, Y5
	VCMPPS    $6, Y0, Y3, Y6
	VANDPS    Y5, Y6, Y6
	VBLENDVPS Y6, Y3, Y0, Y0
	VBLENDVPS Y6, Y14, Y4, Y4
	// The ReLU keeps what is not ≤ 0 (positive or NaN); a +0 result
	// makes the position −1.
	VCMPPS   $6, Y15, Y0, Y5
	VANDPS   Y5, Y0, Y0
	VPCMPEQD Y15, Y0, Y6
	VPOR     Y6, Y4, Y4
	VMOVUPS  Y0, (DI)
	VMOVDQU  Y4, (R8)
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, SI
	ADDQ $32, R9
	DECQ DX
	JNZ  winoPool_loop
	VZEROUPPER
	RET

// func winoPoolGradAVX2(dy *float32, ds int, gy *float32, win *int32, gb *float32, nb int)
//
// For each lane: g where win is c, else +0, into dy[c·ds] (c = 0…3), and
// g where win is not −1, else +0, added to gb. Y12–Y14 hold the positions
// 1 to 3, Y11 zero, Y15 all ones (−1).
TEXT ·winoPoolGradAVX2(SB), NOSPLIT, $0-48
	MOVQ dy+0(FP), DI
	MOVQ ds+8(FP), AX
	MOVQ gy+16(FP), SI
	MOVQ win+24(FP), R8
	MOVQ gb+32(FP), R9
	MOVQ nb+40(FP), DX
	SHLQ $2, AX
	LEAQ (AX)(AX*2), R10
	VPCMPEQD Y15, Y15, Y15
	VPSRLD   $31, Y15, Y12
	VPADDD   Y12, Y12, Y13
	VPADDD   Y12, Y13, Y14
	VXORPS   Y11, Y11, Y11

winoPoolGrad_loop:
	VMOVUPS  (SI), Y0
	VMOVDQU  (R8), Y1
	VPCMPEQD Y11, Y1, Y2
	VANDPS   Y0, Y2, Y2
	VMOVUPS  Y2, (DI)
	VPCMPEQD Y12, Y1, Y3
	VANDPS   Y0, Y3, Y3
	VMOVUPS  Y3, (DI)(AX*1)
	VPCMPEQD Y13, Y1, Y4
	VANDPS   Y0, Y4, Y4
	VMOVUPS  Y4, (DI)(AX*2)
	VPCMPEQD Y14, Y1, Y5
	VANDPS   Y0, Y5, Y5
	VMOVUPS  Y5, (DI)(R10*1)
	VPCMPEQD Y15, Y1, Y6
	VANDNPS  Y0, Y6, Y6
	VADDPS   (R9), Y6, Y6
	VMOVUPS  Y6, (R9)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ DX
	JNZ  winoPoolGrad_loop
	VZEROUPPER
	RET
