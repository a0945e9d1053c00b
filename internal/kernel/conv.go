package kernel

import (
	"fmt"
	"unsafe"
)

// Tile is the GEMM micro-kernel of one implementation, exposed for
// convolutions at inference that keep their own loops over tiles: an
// implicit GEMM reads a shifted view of the input image in place for
// each filter tap and sums the taps into one tile while it is in
// registers and cache, instead of unfolding the image into columns and
// packing them. A Tile is a small value, safe for concurrent use.
type Tile struct{ im *gemmImpl }

// TileFor returns the micro-kernel that Gemm would choose for an m×n
// product (see pickImpl): the tile shape that pads m and n the least on
// this machine.
func TileFor(m, n int) Tile { return Tile{pickImpl(m, n)} }

// MR returns the rows of the tile.
func (t Tile) MR() int { return t.im.mr }

// NR returns the columns of the tile.
func (t Tile) NR() int { return t.im.nr }

// Name returns the name of the micro-kernel ("avx512-12x32", "go1x6", ...).
func (t Tile) Name() string { return t.im.name }

// Tap is one term of Tile.SumTaps: K steps of a product whose left operand
// starts at offset A and whose right operand starts at offset B.
type Tap struct{ A, B, K int }

// onesRow is the right operand of the bias term of SumTaps: a row of ones
// as wide as any tile.
var onesRow = func() (o [64]float32) {
	for i := range o {
		o[i] = 1
	}
	return
}()

// SumTaps overwrites the MR×NR tile c (row stride ldc) with
//
//	c[r·ldc + j] = bias[r] + Σ_t Σ_{p<t.K} a[t.A + r·rsA + p·csA] · b[t.B + p·csB + j]
//
// for r < MR and j < NR: the sum of the products that taps name, each
// read in place with the strides given (rsA and csA may be any
// non-negative values, 1 included, so that A may be a sliding window of
// an image row; B's NR values of a step are contiguous). The bias, when
// not nil, holds MR values and is added first; without it the sum starts
// from +0. The taps are added one after the other in order, each over its
// steps in order, with fused multiply-adds on the accelerated kernels.
//
// SumTaps panics when an operand is too short for what it reads or
// writes, or a stride or step count is negative.
func (t Tile) SumTaps(taps []Tap, a []float32, rsA, csA int, b []float32, csB int, bias []float32, c []float32, ldc int) {
	im := t.im
	mr, nr := im.mr, im.nr
	if rsA < 0 || csA < 0 || csB < 0 || ldc < nr {
		panic(fmt.Sprintf("kernel.SumTaps: strides rsA=%d csA=%d csB=%d ldc=%d (want ≥ 0, ldc ≥ %d)", rsA, csA, csB, ldc, nr))
	}
	if len(c) < (mr-1)*ldc+nr {
		panic(fmt.Sprintf("kernel.SumTaps: c holds %d values, the %d×%d tile with stride %d needs %d", len(c), mr, nr, ldc, (mr-1)*ldc+nr))
	}
	beta := float32(0)
	if bias != nil {
		if len(bias) < mr {
			panic(fmt.Sprintf("kernel.SumTaps: bias holds %d values, want %d", len(bias), mr))
		}
		im.kern(1, &bias[0], 1, 0, &onesRow[0], 0, &c[0], ldc, 1, 0)
		beta = 1
	}
	for _, tp := range taps {
		if tp.K <= 0 {
			if tp.K < 0 {
				panic(fmt.Sprintf("kernel.SumTaps: tap %+v has a negative step count", tp))
			}
			continue
		}
		if tp.A < 0 || tp.B < 0 || tp.A+(mr-1)*rsA+(tp.K-1)*csA >= len(a) || tp.B+(tp.K-1)*csB+nr > len(b) {
			panic(fmt.Sprintf("kernel.SumTaps: tap %+v reads past a (%d values, rsA=%d csA=%d) or b (%d values, csB=%d) for a %d×%d tile",
				tp, len(a), rsA, csA, len(b), csB, mr, nr))
		}
		im.kern(tp.K, &a[tp.A], rsA, csA, &b[tp.B], csB, &c[0], ldc, 1, beta)
		beta = 1
	}
	if beta == 0 {
		for r := range mr {
			clear(c[r*ldc : r*ldc+nr])
		}
	}
}

// AlignedFloats returns n float32 values whose first one sits on a
// 64-byte boundary (the panels SumTaps reads are then aligned as the
// packed GEMM's are).
func AlignedFloats(n int) []float32 {
	raw := make([]float32, n+16)
	off := 0
	if len(raw) > 0 {
		off = int((64 - uintptr(unsafe.Pointer(&raw[0]))%64) % 64 / 4)
	}
	return raw[off : off+n : off+n]
}

// MaxPool2x2Rows is MaxPool2x2 with a row stride: it pools the h×w plane
// whose rows start ld ≥ w values apart in src into the dense (h/2)×(w/2)
// plane dst, with the ReLU when relu is set and no winners.
func MaxPool2x2Rows(dst, src []float32, h, w, ld int, relu bool) {
	oh, ow := h/2, w/2
	if h < 0 || w < 0 || ld < w || len(dst) < oh*ow || (oh > 0 && len(src) < (2*oh-1)*ld+2*ow) {
		panic(fmt.Sprintf("kernel.MaxPool2x2Rows: %d×%d plane with row stride %d, src %d, dst %d", h, w, ld, len(src), len(dst)))
	}
	if oh == 0 || ow == 0 {
		return
	}
	if !maxPool2x2Asm(dst, nil, src, oh, ow, ld, relu) {
		maxPool2x2Portable(dst, nil, src, oh, ow, ld, relu)
	}
}
