package metrics

import (
	"math/rand/v2"
	"testing"
)

// benchData returns n binary labels and float32 scores in [0, 1) that are
// informative but noisy, with a share of tied values.
func benchData(n int) ([]int, []float32) {
	r := rand.New(rand.NewPCG(7, 11))
	y := make([]int, n)
	s := make([]float32, n)
	for i := range y {
		v := r.Float32()
		if i%4 == 0 {
			v = float32(int(v*100)) / 100 // ties
		}
		s[i] = v
		if r.Float32() < 0.2+0.6*v {
			y[i] = 1
		}
	}
	return y, s
}

func BenchmarkROCAUC(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		y, s := benchData(n)
		b.Run(itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ROCAUC(y, s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/score")
		})
	}
}

func BenchmarkROCAUCOvR(b *testing.B) {
	const n, c = 100_000, 10
	r := rand.New(rand.NewPCG(3, 4))
	y := make([]int, n)
	s := make([]float32, n*c)
	for i := range y {
		y[i] = r.IntN(c)
		for j := range c {
			s[i*c+j] = r.Float32()
		}
		s[i*c+y[i]] += 0.3
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ROCAUCOvR(y, s, c, AverageMacro); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkF1MacroAccumulator(b *testing.B) {
	const batch, c = 256, 10
	r := rand.New(rand.NewPCG(5, 6))
	y := make([]int, batch)
	s := make([]float32, batch*c)
	for i := range y {
		y[i] = r.IntN(c)
		for j := range c {
			s[i*c+j] = r.Float32()
		}
	}
	m := NewF1Metric(WithAverage(AverageMacro))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Update(y, s, c); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := m.Result(); err != nil {
		b.Fatal(err)
	}
}

func itoa(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmtInt(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return fmtInt(n/1000) + "k"
	}
	return fmtInt(n)
}

func fmtInt(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return fmtInt(n/10) + string(rune('0'+n%10))
}
