//go:build amd64 && !purego

#include "textflag.h"

DATA adamOne<>+0(SB)/4, $0x3f800000 // 1.0
GLOBL adamOne<>(SB), RODATA|NOPTR, $4

// func adamAVX2(p, grad, m, v *float32, n int, a *AdamParams)
// n is a positive multiple of 8. AdamParams is {Beta1, Beta2, StepSize,
// InvBC2, Eps, WeightDecay float32}.
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ a+40(FP), AX
	VBROADCASTSS 0(AX), Y0   // β1
	VBROADCASTSS 4(AX), Y1   // β2
	VBROADCASTSS 8(AX), Y4   // step size
	VBROADCASTSS 12(AX), Y5  // 1/√(1−β2ᵗ)
	VBROADCASTSS 16(AX), Y6  // ε
	VBROADCASTSS 20(AX), Y7  // weight decay
	VBROADCASTSS adamOne<>(SB), Y15
	VSUBPS Y0, Y15, Y2       // 1−β1
	VSUBPS Y1, Y15, Y3       // 1−β2
loop:
	VMOVUPS (SI), Y8         // g
	VMOVUPS (DI), Y9         // p
	VFMADD231PS Y7, Y9, Y8   // g += wd·p
	VMOVUPS (R8), Y10        // m
	VMULPS Y0, Y10, Y10      // β1·m
	VFMADD231PS Y2, Y8, Y10  // + (1−β1)·g
	VMOVUPS Y10, (R8)
	VMULPS Y8, Y8, Y12       // g²
	VMOVUPS (R9), Y11        // v
	VMULPS Y1, Y11, Y11      // β2·v
	VFMADD231PS Y3, Y12, Y11 // + (1−β2)·g²
	VMOVUPS Y11, (R9)
	VSQRTPS Y11, Y12         // √v
	VFMADD213PS Y6, Y5, Y12  // √v·invBC2 + ε
	VDIVPS Y12, Y10, Y13     // m / (…)
	VFNMADD231PS Y4, Y13, Y9 // p −= step·ratio
	VMOVUPS Y9, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JNZ loop
	VZEROUPPER
	RET
