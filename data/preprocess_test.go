package data

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

func TestStandardizer(t *testing.T) {
	train := tensor.New([]float32{1, 10, 3, 10, 5, 10}, 3, 2)
	test := tensor.New([]float32{3, 11}, 1, 2)
	var s Standardizer
	require.NoError(t, s.Fit(train))
	require.InDeltaSlice(t, []float32{3, 10}, s.Mean().Data(), 1e-6)
	require.InDeltaSlice(t, []float32{float32(math.Sqrt(8.0 / 3)), 1}, s.Std().Data(), 1e-6)
	out := s.Transform(test)
	require.InDeltaSlice(t, []float32{0, 1}, out.Data(), 1e-6)
	require.Equal(t, []float32{3, 11}, test.Data(), "Transform does not touch its input")
	tr := s.Transform(train)
	require.InDelta(t, 0, tr.Data()[0]+tr.Data()[2]+tr.Data()[4], 1e-5)

	// State and JSON round trips give the same transform.
	var s2 Standardizer
	require.NoError(t, s2.SetState(s.State()))
	require.Equal(t, out.Data(), s2.Transform(test).Data())
	b, err := json.Marshal(&s)
	require.NoError(t, err)
	var s3 Standardizer
	require.NoError(t, json.Unmarshal(b, &s3))
	require.Equal(t, out.Data(), s3.Transform(test).Data())

	require.Panics(t, func() { s.Transform(tensor.Zeros(1, 3)) })
	require.Panics(t, func() { new(Standardizer).Transform(test) })
	require.Error(t, s2.SetState(map[string]*tensor.Tensor{"mean": tensor.Zeros(2)}))
	require.Error(t, s2.SetState(map[string]*tensor.Tensor{"mean": tensor.Zeros(2), "std": tensor.Zeros(3)}))
	require.Error(t, json.Unmarshal([]byte(`{"shape":[3],"values":{"mean":[1],"std":[1]}}`), &s3))
	require.Error(t, s.Fit(tensor.New([]float32{float32(math.NaN())}, 1, 1)))
	require.Error(t, s.Fit(tensor.Zeros(0, 2)))

	g := Standardizer{Global: true}
	require.NoError(t, g.Fit(tensor.New([]float32{0, 2, 4, 6}, 2, 2)))
	require.Equal(t, []int{1}, g.Mean().Shape())
	require.InDeltaSlice(t, []float32{-1.3416, 1.3416}, g.Transform(tensor.New([]float32{0, 6}, 1, 1, 2)).Data(), 1e-3)
	b, err = json.Marshal(&g)
	require.NoError(t, err)
	var g2 Standardizer
	require.NoError(t, json.Unmarshal(b, &g2))
	require.True(t, g2.Global)
}

func TestMinMaxScaler(t *testing.T) {
	train := tensor.New([]float32{0, 5, 10, 5}, 2, 2)
	var s MinMaxScaler
	require.NoError(t, s.Fit(train))
	require.Equal(t, []float32{0, 5}, s.Min().Data())
	require.Equal(t, []float32{10, 5}, s.Max().Data())
	require.Equal(t, []float32{0.5, 0, 2, 0}, s.Transform(tensor.New([]float32{5, 5, 20, 7}, 2, 2)).Data())
	var s2 MinMaxScaler
	b, err := json.Marshal(&s)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &s2))
	require.Equal(t, s.Max().Data(), s2.Max().Data())
	st := s.State()
	require.Contains(t, st, "min")
	require.Contains(t, st, "max")

	// As a batch transform in a Loader.
	ds, err := NewTensorDataset(tensor.New([]float32{0, 5, 10, 5, 5, 5}, 3, 2), tensor.Zeros(3))
	require.NoError(t, err)
	l := NewLoader(ds, 3, WithTransform(&s, 0))
	for b := range l.All() {
		require.Equal(t, []float32{0, 0, 1, 0, 0.5, 0}, b.X.Data())
	}
}

func TestScaleTo01(t *testing.T) {
	x := tensor.New([]float32{0, 51, 255}, 3)
	ScaleTo01(x, 0, 255)
	require.Equal(t, []float32{0, 0.2, 1}, x.Data())
	require.Panics(t, func() { ScaleTo01(x, 1, 1) })
}

func TestImputer(t *testing.T) {
	nan := float32(math.NaN())
	train := tensor.New([]float32{1, nan, 3, 4, float32(math.Inf(1)), 8, 5, 6}, 4, 2)
	for _, c := range []struct {
		s    ImputeStrategy
		fill []float32
	}{{ImputeMean, []float32{3, 6}}, {ImputeMedian, []float32{3, 6}}} {
		m := Imputer{Strategy: c.s}
		require.NoError(t, m.Fit(train))
		require.Equal(t, c.fill, m.Fill().Data())
		x := train.Clone()
		require.Equal(t, 2, m.TransformInPlace(x))
		require.Equal(t, []float32{1, 6, 3, 4, 3, 8, 5, 6}, x.Data())
		b, err := json.Marshal(&m)
		require.NoError(t, err)
		var m2 Imputer
		require.NoError(t, json.Unmarshal(b, &m2))
		require.Equal(t, m.Strategy, m2.Strategy)
		require.Equal(t, m.Fill().Data(), m2.Fill().Data())
		var m3 Imputer
		require.NoError(t, m3.SetState(m.State()))
	}
	m := Imputer{Strategy: ImputeMedian}
	require.NoError(t, m.Fit(tensor.New([]float32{1, 2, 10, 4}, 4, 1)))
	require.Equal(t, []float32{3}, m.Fill().Data())
	require.ErrorContains(t, m.Fit(tensor.New([]float32{nan, 1}, 1, 2)), "column 0")
	require.Panics(t, func() { m.TransformInPlace(tensor.Zeros(2, 2)) })
}

func TestDropNonFinite(t *testing.T) {
	nan := float32(math.NaN())
	x := tensor.New([]float32{1, 2, nan, 4, 5, 6, 7, 8}, 4, 2)
	y := tensor.New([]float32{0, 1, 2, float32(math.Inf(-1))}, 4)
	cx, cy, dropped := DropNonFinite(x, y)
	require.Equal(t, 2, dropped)
	require.Equal(t, []float32{1, 2, 5, 6}, cx.Data())
	require.Equal(t, []float32{0, 2}, cy.Data())
	cx, cy, dropped = DropNonFinite(x, nil)
	require.Equal(t, 1, dropped)
	require.Nil(t, cy)
	require.Equal(t, []int{3, 2}, cx.Shape())
}

func TestAugment(t *testing.T) {
	img := tensor.Zeros(1, 1, 5, 5)
	img.Set(1, 0, 0, 2, 2) // centre pixel
	r := rand.New(rand.NewPCG(1, 2))

	// Pure shift moves the pixel by whole steps and keeps its value.
	for range 20 {
		x := img.Clone()
		(&Augment{MaxShift: 2}).Images(x, r)
		sum, one := float32(0), 0
		for _, v := range x.Data() {
			sum += v
			if v == 1 {
				one++
			}
		}
		require.Equal(t, float32(1), sum)
		require.Equal(t, 1, one)
	}

	// A flip mirrors the rows.
	row := tensor.New([]float32{1, 2, 3, 4}, 1, 1, 4)
	seenFlip := false
	for range 20 {
		x := row.Clone()
		(&Augment{HFlip: true}).Images(x, r)
		if x.Data()[0] == 4 {
			require.Equal(t, []float32{4, 3, 2, 1}, x.Data())
			seenFlip = true
		} else {
			require.Equal(t, row.Data(), x.Data())
		}
	}
	require.True(t, seenFlip)

	// A rotation keeps the centre pixel where it is, and a small one keeps
	// most of the image's mass.
	x := img.Clone()
	(&Augment{MaxRotate: 15}).Images(x, r)
	require.InDelta(t, 1, x.At(0, 0, 2, 2), 0.2)
	big := tensor.Ones(2, 3, 9, 9)
	(&Augment{MaxRotate: 10, MaxShift: 1}).Images(big, r)
	for _, v := range big.Data() {
		require.True(t, v >= 0 && v <= 1.0001)
	}
	require.Panics(t, func() { (&Augment{}).Images(tensor.Zeros(4, 4), r) })

	// Same seed, same augmentation.
	a1, a2 := tensor.RandU(rand.New(rand.NewPCG(3, 3)), 0, 1, 4, 8, 8), (*tensor.Tensor)(nil)
	a2 = a1.Clone()
	aug := &Augment{MaxShift: 2, MaxRotate: 10}
	aug.Images(a1, rand.New(rand.NewPCG(5, 5)))
	aug.Images(a2, rand.New(rand.NewPCG(5, 5)))
	require.Equal(t, a1.Data(), a2.Data())
}

// BenchmarkAugmentBatch measures shift+rotation augmentation of one batch
// of 64 MNIST-sized images.
func BenchmarkAugmentBatch(b *testing.B) {
	x := tensor.RandU(rand.New(rand.NewPCG(1, 1)), 0, 1, 64, 1, 28, 28)
	aug := &Augment{MaxShift: 2, MaxRotate: 10}
	r := rand.New(rand.NewPCG(2, 2))
	b.ReportAllocs()
	for b.Loop() {
		aug.Images(x, r)
	}
}
