package nn

import (
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// shareGrads checks that a module trained as two shares of a batch, on two
// goroutines, each under an arena with separate gradients
// (autograd.Arena.SeparateGrads), leaves every parameter's gradient
// untouched until MergeGrads and then holds the whole batch's gradient.
// loss returns the summed loss of rows [lo, hi) recorded on a. A layer
// whose backward reaches a parameter around the arena — an op with no
// arena input, weights kept beside a graph record — writes the parameter
// from both goroutines at once: that fails here (and races under -race).
func shareGrads(t *testing.T, params []*Param, rows int, loss func(a *autograd.Arena, lo, hi int) *autograd.Var) {
	t.Helper()
	for _, p := range params {
		p.ZeroGrad()
	}
	loss(autograd.NewArena(), 0, rows).Backward()
	want := make([][]float32, len(params))
	for i, p := range params {
		require.True(t, p.HasGrad(), "%s: no gradient from the whole batch", p.Name)
		want[i] = append([]float32(nil), p.Grad().Data()...)
		p.ZeroGrad()
	}
	arenas := [2]*autograd.Arena{autograd.NewArena(), autograd.NewArena()}
	var wg sync.WaitGroup
	for i, r := range [][2]int{{0, rows / 2}, {rows / 2, rows}} {
		arenas[i].SeparateGrads(true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			loss(arenas[i], r[0], r[1]).Backward()
		}()
	}
	wg.Wait()
	for _, p := range params {
		require.False(t, p.HasGrad(), "%s received a gradient before MergeGrads", p.Name)
	}
	for _, a := range arenas {
		a.MergeGrads()
	}
	for i, p := range params {
		got := p.Grad().Data()
		for j := range want[i] {
			require.InDelta(t, want[i][j], got[j], 1e-4*math.Max(1, math.Abs(float64(want[i][j]))), "%s element %d", p.Name, j)
		}
	}
}

// shareInput returns a deterministic tensor of the given shape.
func shareInput(shape ...int) *tensor.Tensor {
	x := tensor.Zeros(shape...)
	for i := range x.Data() {
		x.Data()[i] = float32((i*7919)%23)/23 - 0.5
	}
	return x
}

// sumSquares is Σ y², a loss that sums over the rows.
func sumSquares(y *autograd.Var) *autograd.Var { return autograd.Sum(autograd.Mul(y, y), false) }

// TestSeparateGradsLayers trains shares of the layers whose ops reach a
// parameter other than as a direct input of an op on the share's arena:
// Conv1D (its weight reshaped by an op with no arena input), cross
// attention (the projection weight split into chunks), Embedding.Lookup
// (ids given as ints: no arena at all until the product), a cell whose
// state starts as an arena-less Constant, one weight reshaped once and
// used twice, and an LSTM whose input has no arena but whose state has
// (the recurrent weights kept beside the record).
func TestSeparateGradsLayers(t *testing.T) {
	t.Run("Conv1D", func(t *testing.T) {
		m := NewConv1D(2, 3, 3, WithSeed(1))
		x := shareInput(4, 2, 9)
		shareGrads(t, m.Params(), 4, func(a *autograd.Arena, lo, hi int) *autograd.Var {
			return sumSquares(m.Forward(a.Constant(tensor.Slice(x, 0, lo, hi))))
		})
	})
	t.Run("cross attention", func(t *testing.T) {
		m := NewMultiheadAttention(8, 2, 0, WithSeed(1))
		q, kv := shareInput(4, 3, 8), shareInput(4, 5, 8)
		shareGrads(t, m.Params(), 4, func(a *autograd.Arena, lo, hi int) *autograd.Var {
			k := a.Constant(tensor.Slice(kv, 0, lo, hi))
			y, _ := m.Attend(a.Constant(tensor.Slice(q, 0, lo, hi)), k, k, AttendOptions{})
			return sumSquares(y)
		})
	})
	t.Run("Embedding.Lookup", func(t *testing.T) {
		e := NewEmbedding(10, 4, WithSeed(1))
		ids := []int{1, 2, 3, 4, 5, 6, 7, 8}
		x := shareInput(8, 4)
		shareGrads(t, e.Params(), 8, func(a *autograd.Arena, lo, hi int) *autograd.Var {
			y, err := e.Lookup(ids[lo:hi])
			require.NoError(t, err)
			return autograd.Sum(autograd.Mul(y, a.Constant(tensor.Slice(x, 0, lo, hi))), false)
		})
	})
	t.Run("Constant state", func(t *testing.T) {
		wx, wh := NewDense(4, 5, WithSeed(1)), NewDense(5, 5, WithSeed(2))
		x, h := shareInput(6, 4), shareInput(6, 5)
		shareGrads(t, append(wx.Params(), wh.Params()...), 6, func(a *autograd.Arena, lo, hi int) *autograd.Var {
			h0 := autograd.Constant(tensor.Slice(h, 0, lo, hi))
			return sumSquares(autograd.Tanh(autograd.Add(wx.Forward(a.Constant(tensor.Slice(x, 0, lo, hi))), wh.Forward(h0))))
		})
	})
	t.Run("reshaped weight used twice", func(t *testing.T) {
		w := NewParam("w", shareInput(4, 5))
		x := shareInput(6, 5)
		shareGrads(t, []*Param{w}, 6, func(a *autograd.Arena, lo, hi int) *autograd.Var {
			r := autograd.Reshape(w.Var, 4, 5)
			xs := a.Constant(tensor.Slice(x, 0, lo, hi))
			return autograd.Add(sumSquares(autograd.Linear(xs, r, nil)), sumSquares(autograd.Linear(xs, r, nil)))
		})
	})
	t.Run("LSTM state from the arena", func(t *testing.T) {
		l := NewLSTM(4, 5, RNNConfig{Layers: 2}, WithSeed(1))
		x, h := shareInput(3, 6, 4), shareInput(2, 6, 5)
		shareGrads(t, l.Params(), 6, func(a *autograd.Arena, lo, hi int) *autograd.Var {
			hs := a.Constant(tensor.Slice(h, 1, lo, hi))
			y, _ := l.ForwardWith(autograd.Constant(tensor.Slice(x, 1, lo, hi)), LSTMState{H: hs, C: hs}, nil)
			return sumSquares(y)
		})
	})
}
