package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/stretchr/testify/require"
)

func TestClipGradNorm(t *testing.T) {
	cases := []struct {
		name    string
		maxNorm float32
		clipped bool
	}{
		{"clips", 1, true},
		{"at the norm", 13, false},
		{"above", 100, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b, none := newParam("a", 0, 0), newParam("b", 0, 0), newParam("c", 5)
			setGrad(a, 3, 4)
			setGrad(b, 0, -12) // global norm √(9+16+144) = 13
			norm := ClipGradNorm([]*nn.Param{a, b, none}, c.maxNorm)
			require.Equal(t, float32(13), norm)
			require.Nil(t, none.Grad())
			scale := 1.0
			if c.clipped {
				scale = float64(c.maxNorm) / (13 + 1e-6)
			}
			requireClose(t, []float64{3 * scale, 4 * scale}, a.Grad().Data(), 1e-7, "a")
			requireClose(t, []float64{0, -12 * scale}, b.Grad().Data(), 1e-7, "b")
		})
	}
}

func TestClipGradNormLarge(t *testing.T) {
	// Squares overflow float32; the norm is accumulated in float64.
	a := newParam("a", 0, 0)
	setGrad(a, 3e30, 4e30)
	norm := ClipGradNorm([]*nn.Param{a}, 1)
	require.InEpsilon(t, 5e30, norm, 1e-6)
	requireClose(t, []float64{0.6, 0.8}, a.Grad().Data(), 1e-6, "a")
}

func TestClipGradNormNonFinite(t *testing.T) {
	a := newParam("a", 0, 0)
	inf := float32(math.Inf(1))
	setGrad(a, inf, 1)
	require.True(t, math.IsInf(float64(ClipGradNorm([]*nn.Param{a}, 1)), 1))
	require.Equal(t, []float32{inf, 1}, a.Grad().Data(), "gradients are left alone")
	setGrad(a, float32(math.NaN()), 1)
	require.True(t, math.IsNaN(float64(ClipGradNorm([]*nn.Param{a}, 1))))
}

func TestClipGradValue(t *testing.T) {
	a, b := newParam("a", 0, 0, 0, 0), newParam("b", 0)
	setGrad(a, -3, -0.5, 0.5, 3)
	ClipGradValue([]*nn.Param{a, b}, 1)
	require.Equal(t, []float32{-1, -0.5, 0.5, 1}, a.Grad().Data())
	require.Nil(t, b.Grad())
	require.Panics(t, func() { ClipGradValue(nil, -1) })
}

// TestClipGradNormSameBitsOnAnyWorkers checks that ClipGradNorm, which
// spreads whole gradients over the pool, returns the same norm and leaves
// the same gradients bit for bit on one and on three workers, and that
// the norm is the per-gradient sums added in parameter order.
func TestClipGradNormSameBitsOnAnyWorkers(t *testing.T) {
	sizes := []int{3, clipParallel / 2, 17, clipParallel/2 + 1, 1000, 5}
	mk := func() []*nn.Param {
		r := rand.New(rand.NewPCG(9, 9))
		var ps []*nn.Param
		for i, n := range sizes {
			g := make([]float32, n)
			for j := range g {
				g[j] = float32(r.NormFloat64())
			}
			p := newParam(fmt.Sprint(i), make([]float32, n)...)
			setGrad(p, g...)
			ps = append(ps, p)
		}
		return ps
	}
	var want float64
	for _, p := range mk() {
		want += sumSquares(p.Grad().Data())
	}
	run := func(workers int) (float32, [][]float32) {
		defer parallel.SetWorkers(parallel.SetWorkers(workers))
		ps := mk()
		norm := ClipGradNorm(ps, 1)
		var gs [][]float32
		for _, p := range ps {
			gs = append(gs, p.Grad().Data())
		}
		return norm, gs
	}
	n1, g1 := run(1)
	n3, g3 := run(3)
	require.Equal(t, float32(math.Sqrt(want)), n1)
	require.Equal(t, math.Float32bits(n1), math.Float32bits(n3))
	require.Equal(t, g1, g3)
	scale := float32(1 / (math.Sqrt(want) + 1e-6))
	for i, p := range mk() {
		for j, v := range p.Grad().Data() {
			require.Equal(t, v*scale, g1[i][j])
		}
	}
}
