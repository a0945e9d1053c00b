package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// refU8I8 is the obvious triple loop in int64.
func refU8I8(m, n, k int, a []uint8, lda int, w []int8, ldw int) []int64 {
	c := make([]int64, m*n)
	for i := range m {
		for j := range n {
			var s int64
			for p := range k {
				s += int64(a[i*lda+p]) * int64(w[j*ldw+p])
			}
			c[i*n+j] = s
		}
	}
	return c
}

const guardC int32 = -0x5eed

// runU8I8 runs impl on padded copies and checks the inputs and the guard
// cells of C are untouched.
func runU8I8(t *testing.T, im *int8Impl, m, n, k int, a []uint8, lda int, w []int8, ldw int) []int32 {
	t.Helper()
	ldc := n + 3
	c := make([]int32, m*ldc+5)
	for i := range c {
		c[i] = guardC
	}
	a0, w0 := append([]uint8(nil), a...), append([]int8(nil), w...)
	saved := int8Active
	int8Active = im
	defer func() { int8Active = saved }()
	GemmU8I8(m, n, k, a, lda, w, ldw, c, ldc)
	require.Equal(t, a0, a, "A changed")
	require.Equal(t, w0, w, "W changed")
	out := make([]int32, m*n)
	for i := range m {
		for j := range ldc {
			if j < n {
				out[i*n+j] = c[i*ldc+j]
			} else {
				require.Equal(t, guardC, c[i*ldc+j], "%s: guard C[%d,%d] overwritten", im.name, i, j)
			}
		}
	}
	for _, g := range c[m*ldc:] {
		require.Equal(t, guardC, g, "%s: guard past C overwritten", im.name)
	}
	return out
}

// TestGemmU8I8MatchesReference checks every implementation on this machine
// against the int64 triple loop, bit for bit, on awkward sizes, random and
// extreme values (activations 0 and 127, weights −128 and 127), with row
// strides larger than k.
func TestGemmU8I8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	impls := int8Impls()
	t.Logf("int8 implementations: %v", implNames(impls))
	fills := map[string]func() (uint8, int8){
		"random":  func() (uint8, int8) { return uint8(rng.IntN(MaxU8Activation + 1)), int8(rng.IntN(256) - 128) },
		"extreme": func() (uint8, int8) { return []uint8{0, MaxU8Activation}[rng.IntN(2)], []int8{-128, 127}[rng.IntN(2)] },
		"maxneg":  func() (uint8, int8) { return MaxU8Activation, -128 },
		"maxpos":  func() (uint8, int8) { return MaxU8Activation, 127 },
	}
	for _, k := range []int{0, 1, 7, 17, 32, 33, 64, 100, 784} {
		// m covers every tile height (1..6 rows), n every VNNI tile width
		// (1..4 panels of 16) and partial panels.
		for _, m := range []int{1, 2, 3, 17, 64} {
			for _, n := range []int{1, 3, 17, 40, 64, 100} {
				for fname, fill := range fills {
					if fname != "random" && (m != 17 || n != 17) && (m != 1 || n != 64) {
						continue
					}
					lda, ldw := k+5, k+2
					a := make([]uint8, m*lda)
					w := make([]int8, n*ldw)
					for i := range a {
						a[i], _ = fill()
					}
					for i := range w {
						_, w[i] = fill()
					}
					want := refU8I8(m, n, k, a, lda, w, ldw)
					for _, im := range impls {
						got := runU8I8(t, im, m, n, k, a, lda, w, ldw)
						for x := range got {
							if int64(got[x]) != want[x] {
								t.Fatalf("%s %s m=%d n=%d k=%d: C[%d,%d] = %d, want %d", im.name, fname, m, n, k, x/n, x%n, got[x], want[x])
							}
						}
					}
				}
			}
		}
	}
}

func implNames(l []*int8Impl) []string {
	var s []string
	for _, im := range l {
		s = append(s, im.name)
	}
	return s
}

// TestGemmU8I8SaturationEdge pins the largest sums: 127·(−128) over k = 784
// in every lane. An activation of 255 is outside the contract: on AVX2 it
// saturates VPMADDUBSW's int16 pairs, which this test shows so that the
// limit MaxU8Activation is known to be needed, not merely cautious.
func TestGemmU8I8SaturationEdge(t *testing.T) {
	const k = 784
	a := make([]uint8, 2*k)
	w := make([]int8, 4*k)
	for i := range a {
		a[i] = MaxU8Activation
	}
	for i := range w {
		w[i] = -128
	}
	for _, im := range int8Impls() {
		c := runU8I8(t, im, 2, 4, k, a, k, w, k)
		for _, v := range c {
			require.Equal(t, int32(-127*128*k), v, im.name)
		}
	}
	for i := range a {
		a[i] = 255
	}
	for _, im := range int8Impls() {
		c := runU8I8(t, im, 2, 4, k, a, k, w, k)
		if im.name == "avx2" {
			require.Equal(t, int32(-32768*k/2), c[0], "avx2 saturates each pair at −32768")
		} else {
			require.Equal(t, int32(-255*128*k), c[0], im.name)
		}
	}
}

func TestGemmU8I8Panics(t *testing.T) {
	a, w, c := make([]uint8, 6), make([]int8, 6), make([]int32, 4)
	for _, f := range []struct {
		msg string
		fn  func()
	}{
		{"negative dimension", func() { GemmU8I8(-1, 2, 3, a, 3, w, 3, c, 2) }},
		{"ldA = 2 is smaller than the 3 columns", func() { GemmU8I8(2, 2, 3, a, 2, w, 3, c, 2) }},
		{"W holds 6 elements, need 9", func() { GemmU8I8(2, 3, 3, a, 3, w, 3, c, 3) }},
		{"C holds 4 elements, need 6", func() { GemmU8I8(2, 3, 3, a, 3, make([]int8, 9), 3, c, 3) }},
		// The kernels read K rounded up to 4 bytes of the last row.
		{"A holds 6 bytes with stride 3, need 2 rows of 4", func() { GemmU8I8Packed(2, a, 3, PackI8(2, 3, w, 3), c, 2) }},
		{"ldW = 2 is smaller than the 3 columns", func() { PackI8(2, 3, w, 2) }},
	} {
		func() {
			defer func() {
				r := recover()
				require.NotNil(t, r, f.msg)
				require.Contains(t, r, f.msg)
			}()
			f.fn()
		}()
	}
}

// BenchmarkGemmU8I8 compares, in the same run, the int8 product on
// weights packed once (GemmU8I8Packed, as the quantised layers call it),
// the same with packing per call (GemmU8I8), and the float32 GEMM of the
// same shape with a transposed [n, k] weight, as Dense calls it.
func BenchmarkGemmU8I8(b *testing.B) {
	for _, s := range [][3]int{{1, 128, 784}, {64, 128, 784}, {256, 256, 256}, {512, 512, 512}} {
		m, n, k := s[0], s[1], s[2]
		a := make([]uint8, m*k)
		w := make([]int8, n*k)
		c := make([]int32, m*n)
		for i := range a {
			a[i] = uint8(i % 128)
		}
		for i := range w {
			w[i] = int8(i)
		}
		p := PackI8(n, k, w, k)
		// gops reports operations per second of wall time, and the CPU
		// time per operation (all threads), which a loaded machine
		// inflates far less than the wall time.
		var cpu0 time.Duration
		gops := func(b *testing.B) {
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
			if c := cpuTime() - cpu0; c > 0 {
				b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		}
		for _, im := range int8Impls() {
			if im == int8Portable && m*n*k > 1<<20 {
				continue
			}
			run := func(b *testing.B, fn func()) {
				saved := int8Active
				int8Active = im
				defer func() { int8Active = saved }()
				b.ReportAllocs()
				cpu0 = cpuTime()
				for b.Loop() {
					fn()
				}
				gops(b)
			}
			b.Run(fmt.Sprintf("int8-%s/%dx%dx%d", im.name, m, n, k), func(b *testing.B) {
				run(b, func() { GemmU8I8Packed(m, a, k, p, c, n) })
			})
			b.Run(fmt.Sprintf("int8-%s-packpercall/%dx%dx%d", im.name, m, n, k), func(b *testing.B) {
				run(b, func() { GemmU8I8(m, n, k, a, k, w, k, c, n) })
			})
		}
		af := make([]float32, m*k)
		wf := make([]float32, n*k)
		cf := make([]float32, m*n)
		b.Run(fmt.Sprintf("f32-%s/%dx%dx%d", GemmImpl(), m, n, k), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 = cpuTime()
			for b.Loop() {
				Gemm(false, true, m, n, k, 1, af, k, wf, k, 0, cf, n)
			}
			gops(b)
		})
	}
}

// TestQuantizeU8RowTwins checks the AVX2 min/max and quantiser against
// their portable twins, bit for bit, on awkward lengths, with values on
// rounding ties, at the clamps, and with NaN and infinities.
func TestQuantizeU8RowTwins(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 7, 8, 16, 17, 24, 31, 32, 33, 64, 100, 784} {
		for trial := range 6 {
			x := make([]float32, n)
			for i := range x {
				switch trial {
				case 0:
					x[i] = float32(rng.NormFloat64())
				case 1:
					x[i] = float32(rng.IntN(255)-127) / 2 // ties at scale 1
				case 2:
					x[i] = float32(math.Abs(rng.NormFloat64())) // after ReLU
				case 3:
					x[i] = -float32(rng.ExpFloat64())
				default:
					x[i] = float32(rng.NormFloat64()) * 1e30
				}
			}
			if n > 0 && trial == 5 {
				x[rng.IntN(n)] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[rng.IntN(3)]
			}
			lo, hi, finite := minMaxRow(x)
			plo, phi, pfinite := minMaxPortable(x)
			require.Equal(t, pfinite, finite, "n=%d trial %d: finite flag", n, trial)
			require.Equal(t, trial != 5 || n == 0, finite, "n=%d trial %d", n, trial)
			if finite {
				require.Equal(t, plo, lo, "n=%d trial %d: min", n, trial)
				require.Equal(t, phi, hi, "n=%d trial %d: max", n, trial)
			}
			for _, sc := range []struct{ inv, off float32 }{{1, 127.5}, {1, 0.5}, {3.7, 60.5}, {0.01, 0.5}, {1e30, 0.5}} {
				got := make([]uint8, n+3)
				want := make([]uint8, n)
				quantU8Row(got, x, sc.inv, sc.off)
				quantU8Portable(want, x, sc.inv, sc.off)
				require.Equal(t, want, got[:n], "n=%d trial %d inv %v off %v", n, trial, sc.inv, sc.off)
				require.Equal(t, []uint8{0, 0, 0}, got[n:], "wrote past the row")
			}
		}
	}
}

// TestQuantizeU8Row pins the scheme on a hand-computed row: lo = −1, hi =
// 126, scale 1, zero point 1, ties (0.5, −0.5) rounding up.
func TestQuantizeU8Row(t *testing.T) {
	x := make([]float32, 40) // long enough for the AVX2 path
	copy(x, []float32{-1, 0, 126, 0.5, -0.5, 125.5, 3.49})
	q := make([]uint8, 40)
	s, zp := QuantizeU8Row(q, x)
	require.Equal(t, float32(1), s)
	require.Equal(t, int32(1), zp)
	require.Equal(t, []uint8{0, 1, 127, 2, 1, 127, 4, 1}, q[:8])
	s, zp = QuantizeU8Row(q, make([]float32, 40))
	require.Equal(t, float32(0), s)
	require.Equal(t, int32(0), zp)
	x[39] = float32(math.Inf(1))
	s, _ = QuantizeU8Row(q, x)
	require.True(t, math.IsNaN(float64(s)))
}

// TestDequantI32RowsTwins checks the AVX2 epilogue against its portable
// twin, bit for bit (so −0 and NaN payloads count), on awkward widths
// (the masked tail of 1..7 columns included) and several rows with
// strides, with and without bias and ReLU, with int32 products that
// wrap, negative and NaN scales, and sums that cancel to zero (giving
// −0 under a negative scale, which the ReLU must keep). Guard cells past
// each row of Y must stay untouched.
func TestDequantI32RowsTwins(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const guard = float32(-12345)
	for _, n := range []int{1, 2, 7, 8, 9, 10, 16, 17, 33, 128} {
		for _, rows := range []int{1, 3, 7} {
			for trial := range 4 {
				ldc, ldy := n+3, n+2
				c, wsum := make([]int32, rows*ldc), make([]int32, n)
				sw, b := make([]float32, n), make([]float32, n)
				zp, sa := make([]int32, rows), make([]float32, rows)
				for r := range rows {
					zp[r], sa[r] = int32(rng.IntN(128)), float32(rng.ExpFloat64())
				}
				for j := range n {
					wsum[j] = rng.Int32N(1<<14) - 1<<13
					sw[j], b[j] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				}
				for r := range rows {
					for j := range n {
						switch trial {
						case 1:
							c[r*ldc+j] = zp[r] * wsum[j] // exact zero: ±0 after scaling
						case 2:
							c[r*ldc+j], wsum[j] = rng.Int32(), rng.Int32() // products wrap
						default:
							c[r*ldc+j] = rng.Int32N(1<<20) - 1<<19
						}
					}
				}
				if trial == 3 {
					sa[rows-1] = float32(math.NaN())
				}
				for _, bias := range [][]float32{nil, b} {
					for _, relu := range []bool{false, true} {
						got := make([]float32, rows*ldy)
						for i := range got {
							got[i] = guard
						}
						want := make([]float32, n)
						DequantI32Rows(got, ldy, c, ldc, rows, n, zp, sa, wsum, sw, bias, relu)
						for r := range rows {
							dequantPortable(want, c[r*ldc:r*ldc+n], wsum, zp[r], sa[r], sw, bias, relu)
							for j := range want {
								g := got[r*ldy+j]
								if math.Float32bits(g) != math.Float32bits(want[j]) {
									t.Fatalf("n=%d rows=%d trial %d bias %v relu %v: y[%d,%d] = %v (%#x), want %v (%#x)", n, rows, trial, bias != nil, relu, r, j, g, math.Float32bits(g), want[j], math.Float32bits(want[j]))
								}
								if relu && want[j] < 0 {
									t.Fatalf("n=%d: ReLU left %v", n, want[j])
								}
							}
							require.Equal(t, []float32{guard, guard}, got[r*ldy+n:(r+1)*ldy], "n=%d rows=%d: wrote past row %d", n, rows, r)
						}
					}
				}
			}
		}
	}
	require.Panics(t, func() {
		DequantI32Rows(make([]float32, 7), 4, make([]int32, 8), 4, 2, 4, make([]int32, 2), make([]float32, 2), make([]int32, 4), make([]float32, 4), nil, false)
	})
}

// TestDequantI32Rows pins the epilogue on hand-computed values: c − zp·wsum
// scaled by sa·sw, the bias added, then the ReLU, with NaN passing through
// the ReLU; nine values, so that the AVX2 path and its masked tail both
// run.
func TestDequantI32Rows(t *testing.T) {
	c := []int32{10, 0, 7, -4, 3, 5, 6, 8, 9}
	wsum := []int32{1, 2, 0, 0, 1, 1, 1, 1, 1}
	sw := []float32{0.5, 1, 2, 1, 1, 1, 1, 1, float32(math.NaN())}
	b := []float32{1, 0, -20, 0, 0, 0, 0, 0, 0}
	y := make([]float32, 9)
	zp, sa := []int32{3}, []float32{2}
	// zp = 3, sa = 2: (10−3)·1+1 = 8, (0−6)·2 = −12, 7·4−20 = 8, −8, 0, 4, 6, 10, NaN.
	DequantI32Rows(y, 9, c, 9, 1, 9, zp, sa, wsum, sw, b, false)
	require.Equal(t, []float32{8, -12, 8, -8, 0, 4, 6, 10}, y[:8])
	require.True(t, math.IsNaN(float64(y[8])))
	DequantI32Rows(y, 9, c, 9, 1, 9, zp, sa, wsum, sw, b, true)
	require.Equal(t, []float32{8, 0, 8, 0, 0, 4, 6, 10}, y[:8])
	require.True(t, math.IsNaN(float64(y[8])), "ReLU must keep NaN")
	DequantI32Rows(y, 9, c, 9, 1, 9, zp, sa, wsum, sw, nil, true)
	require.Equal(t, []float32{7, 0, 28, 0, 0, 4, 6, 10}, y[:8])
}

// refQuantizeRow is QuantizeU8Row written with the portable twins only.
func refQuantizeRow(dst []uint8, x []float32) (float32, int32) {
	lo, hi, finite := minMaxPortable(x)
	s := (hi - lo) / MaxU8Activation
	if s == 0 || !finite || math.IsInf(float64(s), 0) {
		clear(dst[:len(x)])
		if !finite || s != 0 {
			return float32(math.NaN()), 0
		}
		return 0, 0
	}
	inv := 1 / s
	z := float32(math.Round(float64(-lo * inv)))
	quantU8Portable(dst, x, inv, z+0.5)
	return s, int32(z)
}

// TestQuantizeU8RowsTwins checks QuantizeU8Rows (one assembly call for
// all rows on AVX2, computing each row's scale and zero point itself)
// against the portable QuantizeU8Row, bit for bit, with rows of every
// kind interleaved: ordinary, rounding ties, after ReLU (minimum 0),
// all negative, constant, zero, subnormal (the inverse scale overflows),
// huge (hi − lo overflows) and holding NaN or an infinity. It also checks
// that the padding between rows of Q is not written.
func TestQuantizeU8RowsTwins(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const kinds = 10
	for _, cols := range []int{1, 7, 8, 16, 17, 24, 40, 128, 784} {
		for _, rows := range []int{1, 3, 7, 2 * kinds} {
			x := make([]float32, rows*cols)
			for r := range rows {
				kind := r % kinds
				if rows < kinds {
					kind = rng.IntN(kinds)
				}
				row := x[r*cols : (r+1)*cols]
				for i := range row {
					switch kind {
					case 0:
						row[i] = float32(rng.NormFloat64())
					case 1:
						row[i] = float32(rng.IntN(255)-127) / 2
					case 2:
						row[i] = float32(math.Abs(rng.NormFloat64()))
					case 3:
						row[i] = -float32(rng.ExpFloat64()) - 1
					case 4:
						row[i] = 3
					case 5:
						row[i] = 0
					case 6:
						row[i] = float32(rng.NormFloat64()) * 1e-39 // the scale is subnormal, its inverse overflows
					case 7:
						row[i] = float32(rng.NormFloat64()) * 3e38
					default:
						row[i] = float32(rng.NormFloat64())
					}
				}
				if kind >= 8 {
					row[rng.IntN(cols)] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[kind-8+rng.IntN(2)]
				}
			}
			ldq := cols + 5
			q := make([]uint8, rows*ldq)
			for i := range q {
				q[i] = 0xee
			}
			scale, zp := make([]float32, rows), make([]int32, rows)
			QuantizeU8Rows(q, ldq, x, rows, cols, scale, zp)
			want := make([]uint8, cols)
			for r := range rows {
				ws, wz := refQuantizeRow(want, x[r*cols:(r+1)*cols])
				require.Equal(t, want, q[r*ldq:r*ldq+cols], "cols=%d rows=%d: row %d", cols, rows, r)
				require.Equal(t, []uint8{0xee, 0xee, 0xee, 0xee, 0xee}, q[r*ldq+cols:(r+1)*ldq], "cols=%d: row %d padding written", cols, r)
				require.Equal(t, math.Float32bits(ws), math.Float32bits(scale[r]), "cols=%d rows=%d: scale of row %d", cols, rows, r)
				require.Equal(t, wz, zp[r], "cols=%d rows=%d: zero point of row %d", cols, rows, r)
			}
		}
	}
	require.Panics(t, func() {
		QuantizeU8Rows(make([]uint8, 10), 4, make([]float32, 12), 3, 4, make([]float32, 3), make([]int32, 3))
	})
}
