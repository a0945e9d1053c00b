package kernel

import (
	"fmt"
	"math"
)

// Conv3x3ReLUPool2x2 convolves one h×w input plane src with each of the
// len(b) 3×3 filters in f (row-major taps, nine per filter), adds the bias
// b, and max-pools the (h−2)×(w−2) result with 2×2 windows at stride 2,
// rectified: dst receives len(b) planes of ((h−2)/2)×((w−2)/2) values and
// idx (when not nil) the winners, as offsets into the convolution plane,
// exactly as MaxPool2x2 with relu gives them for that plane. The
// convolution plane itself is never stored.
//
// Each convolution output is the nine products added in tap order with
// fused multiply-adds, starting from zero, and then the bias: the sum that
// the GEMM kernels form for the same filter with the bias as a tenth tap
// over a row of ones.
//
// eo is scratch of at least Conv3x3PoolScratch(h, w) elements. It reports
// false, doing nothing, when no vector kernel fits (no AVX2, a build with
// the purego tag, or pooled rows narrower than 8); the caller then takes
// another path.
func Conv3x3ReLUPool2x2(dst []float32, idx []int32, src []float32, h, w int, f, b, eo []float32) bool {
	oc := len(b)
	ph, pw := (h-2)/2, (w-2)/2
	if h < 3 || w < 3 || len(src) < h*w || len(f) < 9*oc || len(dst) < oc*ph*pw ||
		(idx != nil && len(idx) < oc*ph*pw) || len(eo) < Conv3x3PoolScratch(h, w) {
		panic(fmt.Sprintf("kernel.Conv3x3ReLUPool2x2: %d×%d plane, %d filters with src %d, f %d, dst %d, idx %d, eo %d",
			h, w, oc, len(src), len(f), len(dst), len(idx), len(eo)))
	}
	if !conv3x3PoolFits(pw) || oc == 0 || ph == 0 {
		return false
	}
	half := pw + 1
	conv3x3Split(eo, src, h, w, half)
	var p conv3x3Params
	p.init(w - 2)
	for o := range oc {
		copy(p.w[:], f[o*9:o*9+9])
		for i := range p.bias {
			p.bias[i] = b[o]
		}
		var ip *int32
		if idx != nil {
			ip = &idx[o*ph*pw]
		}
		conv3x3PoolAsm(&dst[o*ph*pw], ip, &eo[0], &p, ph, pw, 2*half, half, w-2)
	}
	return true
}

// Conv3x3PoolScratch is the scratch (eo) that Conv3x3ReLUPool2x2 needs for
// an h×w plane.
func Conv3x3PoolScratch(h, w int) int {
	return h * 2 * ((w-2)/2 + 1)
}

// conv3x3Params is the block the vector kernel reads its constants from;
// the assembly knows its layout.
type conv3x3Params struct {
	bias  [8]float32 // the filter's bias in every lane
	one   [8]int32   // winner offsets of the later taps of a window: 1,
	offW  [8]int32   // the convolution plane's width w,
	offW1 [8]int32   // and w+1
	lanes [8]int32   // 2·lane: the first tap of each lane's window
	w     [9]float32 // the filter
}

func (p *conv3x3Params) init(cw int) {
	for i := range 8 {
		p.one[i], p.offW[i], p.offW1[i], p.lanes[i] = 1, int32(cw), int32(cw+1), int32(2*i)
	}
}

// conv3x3Split writes the rows of the h×w plane src into eo split by
// column parity: row r's even columns at eo[r·2·half:], its odd ones half
// further on, half of each (the kernel reads no further).
func conv3x3Split(eo, src []float32, h, w, half int) {
	for r := range h {
		row := src[r*w : (r+1)*w]
		e := eo[r*2*half : r*2*half+half]
		o := eo[r*2*half+half : (r+1)*2*half]
		for j := range e {
			e[j], o[j] = row[2*j], row[2*j+1]
		}
	}
}

// conv3x3PoolPortable is the portable twin of the vector kernel, on the
// plane itself: the sums with math.FMA in the kernel's order, and the
// winners by MaxPool2x2's rule (a later tap wins when the best so far is
// not NaN and the tap is not ≤ it).
func conv3x3PoolPortable(dst []float32, idx []int32, src []float32, h, w int, f, b []float32) {
	cw := w - 2
	ph, pw := (h-2)/2, (w-2)/2
	for o := range b {
		k := f[o*9 : o*9+9]
		conv := func(r, c int) float32 {
			var s float32
			for t := range 9 {
				s = float32(math.FMA(float64(k[t]), float64(src[(r+t/3)*w+c+t%3]), float64(s)))
			}
			return s + b[o]
		}
		for i := range ph {
			for j := range pw {
				v := [4]float32{conv(2*i, 2*j), conv(2*i, 2*j+1), conv(2*i+1, 2*j), conv(2*i+1, 2*j+1)}
				best, c := v[0], 0
				for t := 1; t < 4; t++ {
					if best == best && !(v[t] <= best) {
						best, c = v[t], t
					}
				}
				if !(best > 0) && best == best {
					best = 0
				}
				n := o*ph*pw + i*pw + j
				dst[n] = best
				if idx != nil {
					idx[n] = int32(2*i*cw + 2*j + c&1 + c>>1*cw)
				}
			}
		}
	}
}
