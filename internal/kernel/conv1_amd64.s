//go:build amd64 && !purego

#include "textflag.h"

// conv3x3PoolAVX2 works on blocks of eight pooled columns (the last block
// of a row overlapping the one before when the row is not a multiple of
// eight wide). The filter stays in Y0–Y8. For each of the four input rows
// that feed a pooled row, three vectors of the row's even and odd columns
// (from the block's first and from one column on) are loaded into
// Y13–Y15 at a time and added into the even and odd convolution columns
// of the two convolution rows the input row feeds (Y9, Y10 and Y11, Y12),
// filter taps in order, with no memory operand so that the loads stay
// within two per cycle.

// func conv3x3PoolAVX2(dst *float32, idx *int32, eo *float32, p *conv3x3Params, ph, pw, s, half, cw int)
TEXT ·conv3x3PoolAVX2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ idx+8(FP), SI
	MOVQ eo+16(FP), R11
	MOVQ p+24(FP), DX
	MOVQ ph+32(FP), CX
	MOVQ pw+40(FP), BX
	MOVQ s+48(FP), R8
	SHLQ $2, R8
	MOVQ half+56(FP), R9
	SHLQ $2, R9
	MOVQ BX, R14
	SUBQ $8, R14
	XORQ R12, R12
	VBROADCASTSS 160(DX), Y0
	VBROADCASTSS 164(DX), Y1
	VBROADCASTSS 168(DX), Y2
	VBROADCASTSS 172(DX), Y3
	VBROADCASTSS 176(DX), Y4
	VBROADCASTSS 180(DX), Y5
	VBROADCASTSS 184(DX), Y6
	VBROADCASTSS 188(DX), Y7
	VBROADCASTSS 192(DX), Y8

conv3x3Pool_row:
	XORQ R13, R13

conv3x3Pool_col:
	CMPQ R13, R14
	JLE  conv3x3Pool_go
	MOVQ R14, R13

conv3x3Pool_go:
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	LEAQ (R11)(R13*4), R10
	VMOVUPS (R10), Y13
	VMOVUPS (R10)(R9*1), Y14
	VMOVUPS 4(R10), Y15
	VFMADD231PS Y13, Y0, Y9
	VFMADD231PS Y14, Y1, Y9
	VFMADD231PS Y15, Y2, Y9
	VMOVUPS 4(R10)(R9*1), Y13
	VFMADD231PS Y14, Y0, Y10
	VFMADD231PS Y15, Y1, Y10
	VFMADD231PS Y13, Y2, Y10
	ADDQ R8, R10
	VMOVUPS (R10), Y13
	VMOVUPS (R10)(R9*1), Y14
	VMOVUPS 4(R10), Y15
	VFMADD231PS Y13, Y3, Y9
	VFMADD231PS Y14, Y4, Y9
	VFMADD231PS Y15, Y5, Y9
	VFMADD231PS Y13, Y0, Y11
	VFMADD231PS Y14, Y1, Y11
	VFMADD231PS Y15, Y2, Y11
	VMOVUPS 4(R10)(R9*1), Y13
	VFMADD231PS Y14, Y3, Y10
	VFMADD231PS Y15, Y4, Y10
	VFMADD231PS Y13, Y5, Y10
	VFMADD231PS Y14, Y0, Y12
	VFMADD231PS Y15, Y1, Y12
	VFMADD231PS Y13, Y2, Y12
	ADDQ R8, R10
	VMOVUPS (R10), Y13
	VMOVUPS (R10)(R9*1), Y14
	VMOVUPS 4(R10), Y15
	VFMADD231PS Y13, Y6, Y9
	VFMADD231PS Y14, Y7, Y9
	VFMADD231PS Y15, Y8, Y9
	VFMADD231PS Y13, Y3, Y11
	VFMADD231PS Y14, Y4, Y11
	VFMADD231PS Y15, Y5, Y11
	VMOVUPS 4(R10)(R9*1), Y13
	VFMADD231PS Y14, Y6, Y10
	VFMADD231PS Y15, Y7, Y10
	VFMADD231PS Y13, Y8, Y10
	VFMADD231PS Y14, Y3, Y12
	VFMADD231PS Y15, Y4, Y12
	VFMADD231PS Y13, Y5, Y12
	ADDQ R8, R10
	VMOVUPS (R10), Y13
	VMOVUPS (R10)(R9*1), Y14
	VMOVUPS 4(R10), Y15
	VFMADD231PS Y13, Y6, Y11
	VFMADD231PS Y14, Y7, Y11
	VFMADD231PS Y15, Y8, Y11
	VMOVUPS 4(R10)(R9*1), Y13
	VFMADD231PS Y14, Y6, Y12
	VFMADD231PS Y15, Y7, Y12
	VFMADD231PS Y13, Y8, Y12
	VADDPS (DX), Y9, Y9
	VADDPS (DX), Y10, Y10
	VADDPS (DX), Y11, Y11
	VADDPS (DX), Y12, Y12

	// The window's taps in row-major order: Y9, Y10, Y11, Y12; Y10
	// becomes the winner's offset once it has been compared. A later tap
	// replaces the best so far when the best is not NaN and the tap is not
	// ≤ it.
	VCMPPS $7, Y9, Y9, Y14
	VCMPPS $6, Y9, Y10, Y15
	VANDPS Y15, Y14, Y14
	VBLENDVPS Y14, Y10, Y9, Y9
	VANDPS 32(DX), Y14, Y10
	VCMPPS $7, Y9, Y9, Y14
	VCMPPS $6, Y9, Y11, Y15
	VANDPS Y15, Y14, Y14
	VBLENDVPS Y14, Y11, Y9, Y9
	VBLENDVPS Y14, 64(DX), Y10, Y10
	VCMPPS $7, Y9, Y9, Y14
	VCMPPS $6, Y9, Y12, Y15
	VANDPS Y15, Y14, Y14
	VBLENDVPS Y14, Y12, Y9, Y9
	VBLENDVPS Y14, 96(DX), Y10, Y10

	// ReLU: keep the values that are not ≤ 0 (NaN too).
	VXORPS Y11, Y11, Y11
	VCMPPS $6, Y11, Y9, Y14
	VANDPS Y14, Y9, Y9
	VMOVUPS Y9, (DI)(R13*4)
	TESTQ SI, SI
	JZ   conv3x3Pool_next
	LEAQ (R12)(R13*2), R10
	MOVQ R10, X15
	VPBROADCASTD X15, Y15
	VPADDD 128(DX), Y15, Y15
	VPADDD Y15, Y10, Y10
	VMOVDQU Y10, (SI)(R13*4)

conv3x3Pool_next:
	ADDQ $8, R13
	CMPQ R13, BX
	JLT  conv3x3Pool_col
	LEAQ (R11)(R8*2), R11
	ADDQ cw+64(FP), R12
	ADDQ cw+64(FP), R12
	LEAQ (DI)(BX*4), DI
	TESTQ SI, SI
	JZ   conv3x3Pool_rowdone
	LEAQ (SI)(BX*4), SI

conv3x3Pool_rowdone:
	DECQ CX
	JNZ  conv3x3Pool_row
	VZEROUPPER
	RET
