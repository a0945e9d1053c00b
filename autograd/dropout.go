package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/shoshin-ml/shoshin/internal/parallel"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Dropout zeroes each element of a with probability p and scales the
// survivors by 1/(1−p) so that the expected value is unchanged (inverted
// dropout, as in PyTorch). Layers call it only in training mode and never
// for an inference-mode input (see Var.Inference), so that prediction
// draws nothing from r; with p = 0 it returns a unchanged.
//
// Each call takes one value s = r.Uint64() and derives the mask from it
// with a counter-based generator, so that the workers draw their parts of
// the mask at once and the mask is the same on any number of them: the
// elements 2k and 2k+1 take the low and high 32 bits of the SplitMix64
// output mix(s + (k+1)·0x9e3779b97f4a7c15), and an element is dropped when
// its 32 bits fall below p·2³², so p is honoured to 2⁻³². (Before, each
// element drew its bits from r directly: a given seed of r now gives a
// different mask, and r advances by one value per call.)
func Dropout(a *Var, p float32, r *rand.Rand) *Var {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("autograd.Dropout: probability %v outside [0, 1)", p))
	}
	if p == 0 {
		return a
	}
	mask := alloc(a.value.Shape(), a)
	out := wrap(alloc(a.value.Shape(), a), a)
	dropoutMask(mask.Data(), out.value.Data(), a.value.Data(), p, r.Uint64())
	return out.record("Dropout", func(g *tensor.Tensor) []*tensor.Tensor {
		gx := gradBuf(g.Shape(), a)
		tensor.MulTo(gx, g, mask)
		return []*tensor.Tensor{gx}
	}, a)
}

// dropoutMask fills md with 0 (probability p) or 1/(1−p) from the
// counter-based bits of seed (see Dropout) and writes y = x·md. The pairs
// of elements are spread over the workers, each pair drawing its own 64
// bits from its index, so that the results do not depend on the workers.
// The select is on bits, without a data-dependent branch.
func dropoutMask(md, y, x []float32, p float32, seed uint64) {
	n := len(md)
	if n == 0 {
		return
	}
	y, x = y[:n], x[:n]
	t := uint64(min(float64(p)*(1<<32), math.MaxUint32))
	scale := math.Float32bits(1 / (1 - p))
	parallel.For(n/2, dropoutGrain/2, func(lo, hi int) {
		md, y, x := md[2*lo:2*hi], y[2*lo:2*hi], x[2*lo:2*hi]
		z := seed + uint64(lo)*splitmixGamma // the state before pair lo
		for i := 0; i+1 < len(md) && i+1 < len(y) && i+1 < len(x); i += 2 {
			z += splitmixGamma
			u := splitmix(z)
			// All ones when the bits are ≥ t, from the borrow of bits − t.
			k0 := uint32((u&0xffffffff-t)>>63) - 1
			k1 := uint32((u>>32-t)>>63) - 1
			m0, m1 := math.Float32frombits(scale&k0), math.Float32frombits(scale&k1)
			md[i], md[i+1] = m0, m1
			y[i], y[i+1] = x[i]*m0, x[i+1]*m1
		}
	})
	if n%2 == 1 { // the last element, alone, takes the low bits of its pair
		u := splitmix(seed + uint64(n/2+1)*splitmixGamma)
		m := math.Float32frombits(scale & (uint32((u&0xffffffff-t)>>63) - 1))
		md[n-1], y[n-1] = m, x[n-1]*m
	}
}

// splitmixGamma is SplitMix64's increment, the odd integer nearest 2⁶⁴/φ.
const splitmixGamma = 0x9e3779b97f4a7c15

// splitmix is SplitMix64's output function (Steele, Lea and Flood, 2014):
// a bijective mix of the 64-bit state z whose outputs over z = s + k·γ
// pass BigCrush.
func splitmix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// dropoutGrain is the number of elements below which Dropout's mask stays
// on one worker.
const dropoutGrain = 1 << 14
