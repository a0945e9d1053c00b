package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// dropModel is two Dropouts, one nested, with a ReLU between: its output
// on ones is the product of the masks.
func dropModel(opts1, opts2 []Option) *Sequential {
	return NewSequential(NewDropout(0.5, opts1...), NewReLU(), NewSequential(NewDropout(0.3, opts2...)))
}

func masks(m Module, steps int) [][]float32 {
	var out [][]float32
	for range steps {
		out = append(out, m.Forward(autograd.Constant(tensor.Ones(4, 16))).Value().Data())
	}
	return out
}

func TestRNGStateResumesDropoutMasks(t *testing.T) {
	m := dropModel([]Option{WithSeed(1)}, []Option{WithSeed(2)})
	masks(m, 3)
	state, err := RNGState(m)
	require.NoError(t, err)
	want := masks(m, 4)
	require.NotEqual(t, want[0], want[1], "masks change from step to step")

	require.NoError(t, SetRNGState(m, state))
	require.Equal(t, want, masks(m, 4), "restored generators repeat the masks")

	// A fresh model with other seeds (and one from the default source)
	// continues exactly where the saved one was.
	for _, fresh := range []*Sequential{
		dropModel([]Option{WithSeed(10)}, []Option{WithSeed(11)}),
		dropModel(nil, nil),
	} {
		require.NotEqual(t, want[0], masks(dropModel([]Option{WithSeed(10)}, []Option{WithSeed(11)}), 1)[0])
		require.NoError(t, SetRNGState(fresh, state))
		require.Equal(t, want, masks(fresh, 4))
	}

	// The state is per layer and in order: swapping the layers' seeds gives
	// other masks.
	swapped := dropModel([]Option{WithSeed(2)}, []Option{WithSeed(1)})
	require.NotEqual(t, masks(dropModel([]Option{WithSeed(1)}, []Option{WithSeed(2)}), 1), masks(swapped, 1))

	// ChaCha8 sources save too.
	c := dropModel([]Option{WithSource(rand.NewChaCha8([32]byte{1}))}, []Option{WithSeed(3)})
	cs, err := RNGState(c)
	require.NoError(t, err)
	wantC := masks(c, 2)
	require.NoError(t, SetRNGState(c, cs))
	require.Equal(t, wantC, masks(c, 2))

	// No Dropout: an empty but valid state.
	empty, err := RNGState(NewDense(2, 2))
	require.NoError(t, err)
	require.NoError(t, SetRNGState(NewSequential(NewReLU()), empty))
}

func TestRNGStateErrors(t *testing.T) {
	_, err := RNGState(dropModel([]Option{WithSeed(1)}, []Option{WithRand(rand.New(rand.NewPCG(1, 2)))}))
	require.ErrorContains(t, err, "layer 4 (Dropout)")
	require.ErrorContains(t, err, "WithRand")
	_, err = RNGState(NewSequential(&Dropout{}))
	require.ErrorContains(t, err, "nn.NewDropout")

	good := dropModel([]Option{WithSeed(1)}, []Option{WithSeed(2)})
	state, err := RNGState(good)
	require.NoError(t, err)
	one, err := RNGState(NewDropout(0.1, WithSeed(1)))
	require.NoError(t, err)

	// A model with a PCG then a ChaCha8 generator: the second entry does
	// not fit, and the first, already set, is rolled back.
	mixed := func() *Sequential {
		return dropModel([]Option{WithSeed(5)}, []Option{WithSource(rand.NewChaCha8([32]byte{2}))})
	}
	m, twin := mixed(), mixed()

	for _, c := range []struct {
		name, state, want string
	}{
		{"empty", "", "missing the SRNG header"},
		{"other file", "PK\x03\x04 zip", "missing the SRNG header"},
		{"version", "SRNG\x02\x00", "version 2, want 1"},
		{"no count", "SRNG\x01", "offset 5: bad generator count"},
		{"huge count", "SRNG\x01\xff\xff\xff\xff\x0f", "generators announced"},
		{"truncated", string(state[:len(state)-3]), "only 17 remain"},
		{"trailing", string(state) + "x", "1 trailing bytes"},
		{"count", string(one), "state holds 1 generators, the model has 2"},
		{"kind", string(state), "layer 4 (Dropout), generator 1 of the state: *rand.ChaCha8"},
	} {
		err := SetRNGState(m, []byte(c.state))
		require.ErrorContains(t, err, c.want, c.name)
		require.ErrorContains(t, err, "nn.SetRNGState", c.name)
	}
	require.Equal(t, masks(twin, 3), masks(m, 3), "failed loads leave every generator unchanged")
}

func FuzzSetRNGState(f *testing.F) {
	state, err := RNGState(dropModel([]Option{WithSeed(1)}, []Option{WithSeed(2)}))
	require.NoError(f, err)
	f.Add(state)
	f.Add([]byte("SRNG\x01\x00"))
	f.Add([]byte("SRNG\x01\x02\x14pcg:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := dropModel([]Option{WithSeed(1)}, []Option{WithSeed(2)})
		before, err := RNGState(m)
		require.NoError(t, err)
		if err := SetRNGState(m, b); err != nil {
			after, err2 := RNGState(m)
			require.NoError(t, err2)
			require.Equal(t, before, after, "a rejected state changes nothing")
		}
	})
}
