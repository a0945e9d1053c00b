package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// TestSplitmix checks the generator against the first outputs of the
// published SplitMix64 stream for the seed 1234567.
func TestSplitmix(t *testing.T) {
	want := []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821}
	for k, w := range want {
		require.Equal(t, w, splitmix(1234567+uint64(k+1)*splitmixGamma), "output %d", k)
	}
}

// TestDropoutIndependentOfWorkers checks that a mask long enough to be
// spread over the workers is, on any number of them, the documented draw:
// one r.Uint64 per call, elements 2k and 2k+1 from the low and high 32 bits
// of SplitMix64's output k, an element dropped when its bits fall below
// p·2³², the survivors scaled by 1/(1−p); that the gradient follows the
// same mask; and that r advances by exactly one value.
func TestDropoutIndependentOfWorkers(t *testing.T) {
	const n, p = 3*dropoutGrain + 1, float32(0.3)
	x := rnd(11, -1, 1, n)
	g := rnd(12, -1, 1, n)
	r := rand.New(rand.NewPCG(5, 6))
	seed, next := r.Uint64(), r.Uint64()
	want, wantG := make([]float32, n), make([]float32, n)
	th := uint64(float64(p) * (1 << 32))
	z := seed
	for i := 0; i < n; i += 2 {
		// SplitMix64 written out as a stream: add γ, then mix.
		z += 0x9e3779b97f4a7c15
		u := z
		u = (u ^ u>>30) * 0xbf58476d1ce4e5b9
		u = (u ^ u>>27) * 0x94d049bb133111eb
		u ^= u >> 31
		for j, b := range []uint64{u & 0xffffffff, u >> 32} {
			if i+j < n && b >= th {
				want[i+j] = x.Data()[i+j] * (1 / (1 - p))
				wantG[i+j] = g.Data()[i+j] * (1 / (1 - p))
			}
		}
	}
	for _, workers := range []int{1, 2, 3} {
		prev := parallel.SetWorkers(workers)
		xv := NewVar(x)
		r := rand.New(rand.NewPCG(5, 6))
		y := Dropout(xv, p, r)
		y.BackwardWith(g)
		parallel.SetWorkers(prev)
		require.Equal(t, want, y.Value().Data(), "workers %d", workers)
		require.Equal(t, wantG, xv.Grad().Data(), "workers %d", workers)
		require.Equal(t, next, r.Uint64(), "workers %d: r advanced by one value", workers)
	}
}

// TestDropoutShortInputs checks inputs too short to be spread over the
// workers, odd lengths included (the last element alone takes the low
// bits of its pair's output), against the documented draw for 20 seeds.
func TestDropoutShortInputs(t *testing.T) {
	const p = float32(0.5)
	for _, n := range []int{1, 2, 3, 7, 8, 33} {
		x := rnd(uint64(n), 1, 2, n)
		for seed := range uint64(20) {
			s := rand.New(rand.NewPCG(seed, 3)).Uint64()
			want := make([]float32, n)
			for i := range n {
				u := splitmix(s + uint64(i/2+1)*splitmixGamma)
				if uint32(u>>(32*(i%2))) >= 1<<31 {
					want[i] = x.Data()[i] * 2
				}
			}
			got := Dropout(Constant(x), p, rand.New(rand.NewPCG(seed, 3))).Value().Data()
			require.Equal(t, want, got, "n=%d seed %d", n, seed)
		}
	}
}

// within reports whether count is within 5 standard deviations of a
// binomial count of n trials with probability q.
func within(count, n int, q float64) bool {
	return math.Abs(float64(count)-float64(n)*q) <= 5*math.Sqrt(float64(n)*q*(1-q))+1
}

// TestDropoutKeepRate checks for several p, on a mask long enough to be
// spread over the workers, that the even and odd elements (the low and high
// halves of one generator output) are each dropped at rate p, and that
// neighbours are dropped independently (both at rate p²), each to within
// five standard deviations.
func TestDropoutKeepRate(t *testing.T) {
	const n = 1 << 18
	x := tensor.Ones(n)
	for i, p := range []float32{0.01, 0.1, 0.3, 0.5, 0.75, 0.95} {
		y := Dropout(Constant(x), p, rand.New(rand.NewPCG(uint64(i), 9))).Value().Data()
		var dropped [2]int
		both := 0
		for k := 0; k < n; k += 2 {
			d0, d1 := y[k] == 0, y[k+1] == 0
			if d0 {
				dropped[0]++
			}
			if d1 {
				dropped[1]++
			}
			if d0 && d1 {
				both++
			}
		}
		q := float64(p)
		require.True(t, within(dropped[0], n/2, q), "p=%v: %d of %d even elements dropped", p, dropped[0], n/2)
		require.True(t, within(dropped[1], n/2, q), "p=%v: %d of %d odd elements dropped", p, dropped[1], n/2)
		require.True(t, within(both, n/2, q*q), "p=%v: %d of %d pairs both dropped", p, both, n/2)
		// Neighbours across pairs too (element 2k+1 and 2k+2).
		across := 0
		for k := 1; k+1 < n; k += 2 {
			if y[k] == 0 && y[k+1] == 0 {
				across++
			}
		}
		require.True(t, within(across, n/2-1, q*q), "p=%v: %d of %d neighbours across pairs both dropped", p, across, n/2-1)
	}
}

// TestDropoutConsecutiveCalls checks that two calls with one generator
// draw unrelated masks (agreeing on a fraction p²+(1−p)² of the elements,
// not all), and that the same seed gives the same two masks again.
func TestDropoutConsecutiveCalls(t *testing.T) {
	const n, p = 1 << 16, float32(0.5)
	x := tensor.Ones(n)
	masks := func() (a, b []float32) {
		r := rand.New(rand.NewPCG(21, 22))
		a = Dropout(Constant(x), p, r).Value().Data()
		b = Dropout(Constant(x), p, r).Value().Data()
		return a, b
	}
	a, b := masks()
	agree := 0
	for i := range a {
		if (a[i] == 0) == (b[i] == 0) {
			agree++
		}
	}
	require.True(t, within(agree, n, 0.5), "consecutive masks agree on %d of %d elements", agree, n)
	a2, b2 := masks()
	require.Equal(t, a, a2)
	require.Equal(t, b, b2)
}

// BenchmarkDropout is the Keras convnet's Dropout (p = 0.5 on the 128×1600
// flattened features), forward and backward.
func BenchmarkDropout(b *testing.B) {
	x := rnd(1, -1, 1, 128, 1600)
	g := rnd(2, -1, 1, 128, 1600)
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		Dropout(NewVar(x), 0.5, r).BackwardWith(g)
	}
}
