package kernel

import (
	"fmt"
	"math"
)

// MaxPool2x2 pools the h×w plane src with 2×2 windows at stride 2 into the
// (h/2)×(w/2) plane dst (a last odd row or column is left out, as in
// PyTorch). Each output is the first maximal element of its window in
// row-major order (-0 and +0 count as equal, so the first of them is kept),
// or the first NaN when the window holds one. When idx is not nil it
// receives each window's winner as an offset into src. When relu is true
// the outputs are max(·, 0), NaN kept and −0 made +0; the winners stay
// those of the window before the ReLU.
func MaxPool2x2(dst []float32, idx []int32, src []float32, h, w int, relu bool) {
	oh, ow := h/2, w/2
	if h < 0 || w < 0 || len(src) < h*w || len(dst) < oh*ow || (idx != nil && len(idx) < oh*ow) {
		panic(fmt.Sprintf("kernel.MaxPool2x2: %d×%d plane with src %d, dst %d, idx %d", h, w, len(src), len(dst), len(idx)))
	}
	if oh == 0 || ow == 0 {
		return
	}
	if !maxPool2x2Asm(dst, idx, src, oh, ow, w, relu) {
		maxPool2x2Portable(dst, idx, src, oh, ow, w, relu)
	}
}

// MaxPool2x2Grad writes the gradient gx of the h×w plane pooled by
// MaxPool2x2 from the pooled gradient gy and the winners idx: each window's
// gradient goes to its winner, every other element (a left-out last row or
// column too) gets +0, and so does a gradient of −0. When p (the pooled values) is not nil, windows
// whose value has all bits zero pass nothing, as after a ReLU.
func MaxPool2x2Grad(gx, gy []float32, idx []int32, p []float32, h, w int) {
	oh, ow := h/2, w/2
	if h < 0 || w < 0 || len(gx) < h*w || len(gy) < oh*ow || len(idx) < oh*ow || (p != nil && len(p) < oh*ow) {
		panic(fmt.Sprintf("kernel.MaxPool2x2Grad: %d×%d plane with gx %d, gy %d, idx %d, p %d", h, w, len(gx), len(gy), len(idx), len(p)))
	}
	if oh == 0 || ow == 0 {
		clear(gx[:h*w])
		return
	}
	if !maxPool2x2GradAsm(gx, gy, idx, p, oh, ow, w) {
		maxPool2x2GradPortable(gx, gy, idx, p, oh, ow, w)
	}
	// The left-out last column and row.
	if w&1 != 0 {
		for r := range 2 * oh {
			gx[r*w+w-1] = 0
		}
	}
	clear(gx[2*oh*w : h*w])
}

// maxPool2x2Portable is the portable twin of the pooling kernels: oh×ow
// windows over rows of w elements. A later tap replaces the best so far
// when the best is not NaN and the tap is not ≤ it.
func maxPool2x2Portable(dst []float32, idx []int32, src []float32, oh, ow, w int, relu bool) {
	for i := range oh {
		base := 2 * i * w
		r0 := src[base : base+2*ow]
		r1 := src[base+w : base+w+2*ow]
		d := dst[i*ow : (i+1)*ow]
		for j := range d {
			v := [4]float32{r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1]}
			best, k := v[0], 0
			for c := 1; c < 4; c++ {
				if best == best && !(v[c] <= best) {
					best, k = v[c], c
				}
			}
			if relu && !(best > 0) && best == best {
				best = 0
			}
			d[j] = best
			if idx != nil {
				idx[i*ow+j] = int32(base + 2*j + k&1 + k>>1*w)
			}
		}
	}
}

// maxPool2x2GradPortable is the portable twin of the gradient kernels: it
// writes rows [0, 2·oh) and columns [0, 2·ow) of gx.
func maxPool2x2GradPortable(gx, gy []float32, idx []int32, p []float32, oh, ow, w int) {
	for i := range oh {
		base := 2 * i * w
		r0 := gx[base : base+2*ow]
		r1 := gx[base+w : base+w+2*ow]
		for j := range ow {
			g := 0 + gy[i*ow+j] // as if added to a cleared gradient: −0 becomes +0
			if p != nil && math.Float32bits(p[i*ow+j]) == 0 {
				g = 0
			}
			r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1] = 0, 0, 0, 0
			switch int(idx[i*ow+j]) - base - 2*j {
			case 0:
				r0[2*j] = g
			case 1:
				r0[2*j+1] = g
			case w:
				r1[2*j] = g
			case w + 1:
				r1[2*j+1] = g
			}
		}
	}
}
