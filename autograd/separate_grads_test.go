package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

// shareModel is a small model that goes through every way an op reaches a
// parameter's gradient: the table of EmbeddingIDs, Linear's weight (one
// GEMM into the gradient) and bias, LayerNorm's affine pair, LinearGELU,
// self-attention (through Linear), and the weights a fused LSTM stack keeps
// beside its graph record.
type shareModel struct {
	emb, w1, b1, g, beta, w2, b2, wq, bq, wo, bo *Var
	lstm                                         []RecurrentWeights
	params                                       []*Var
}

const (
	smVocab, smE, smH, smT = 11, 8, 6, 5
)

func newShareModel(r *rand.Rand) *shareModel {
	p := func(shape ...int) *Var {
		t := tensor.Zeros(shape...)
		for i := range t.Data() {
			t.Data()[i] = float32(r.NormFloat64()) * 0.4
		}
		return NewVar(t)
	}
	m := &shareModel{
		emb: p(smVocab, smE), w1: p(smE, smE), b1: p(smE), g: p(smE), beta: p(smE),
		w2: p(smE, smE), b2: p(smE), wq: p(3*smE, smE), bq: p(3 * smE), wo: p(smVocab, smH), bo: p(smVocab),
	}
	in := smE
	for range 2 {
		m.lstm = append(m.lstm, RecurrentWeights{IH: p(4*smH, in), HH: p(4*smH, smH), BiasIH: p(4 * smH), BiasHH: p(4 * smH)})
		in = smH
	}
	m.params = []*Var{m.emb, m.w1, m.b1, m.g, m.beta, m.w2, m.b2, m.wq, m.bq, m.wo, m.bo}
	for _, w := range m.lstm {
		m.params = append(m.params, w.IH, w.HH, w.BiasIH, w.BiasHH)
	}
	return m
}

// loss runs rows [lo, hi) of ids [B, T+1] (inputs the first T, targets the
// last T) and returns their mean cross-entropy.
func (m *shareModel) loss(a *Arena, ids []int32, lo, hi int) *Var {
	b := hi - lo
	x := tensor.Zeros(b, smT)
	var targets []int
	for t := range smT { // targets in the LSTM's [T, B] order
		for i := lo; i < hi; i++ {
			targets = append(targets, int(ids[i*(smT+1)+t+1]))
		}
	}
	for i := lo; i < hi; i++ {
		for t := range smT {
			x.Data()[(i-lo)*smT+t] = float32(ids[i*(smT+1)+t])
		}
	}
	xv := Constant(x)
	if a != nil {
		xv = a.Constant(x)
	}
	h := EmbeddingIDs(m.emb, xv, -1)       // [b, T, E]
	h = Reshape(h, b*smT, smE)             // [b·T, E]
	h = Linear(h, m.w1, m.b1)              //
	h = LayerNorm(h, m.g, m.beta, 1, 1e-5) //
	h = LinearGELU(h, m.w2, m.b2)          //
	q := Reshape(Linear(h, m.wq, m.bq), b, smT, 3*smE)
	h = SelfAttention(q, AttentionOptions{Heads: 2, Causal: true}) // [b, T, E]
	out, _, _ := LSTMStack(SwapLeadingAxes(h), nil, nil, m.lstm, RecurrentOptions{})
	logits := Linear(Reshape(out, smT*b, smH), m.wo, m.bo)
	return SoftmaxCrossEntropy(logits, targets, 0, ReduceMean)
}

func (m *shareModel) grads() [][]float32 {
	var out [][]float32
	for _, p := range m.params {
		g := p.Grad()
		if g == nil {
			out = append(out, nil)
			continue
		}
		out = append(out, append([]float32(nil), g.Data()...))
	}
	return out
}

func (m *shareModel) zeroGrad() {
	for _, p := range m.params {
		p.ZeroGrad()
	}
}

// TestSeparateGradsMatchesWhole trains shares of a batch under arenas with
// separate gradients, one after the other and side by side on goroutines,
// and checks that the merged gradients are the whole batch's (to float32
// rounding), that the parameters' own gradients are untouched until
// MergeGrads (a backward that wrote into them directly — an op holding a
// parameter where the stand-in should be, as the LSTM stack keeps its
// weights — fails here), that a merge adds to what the gradients held,
// that the next step after ZeroGrad starts from zero, and that a value
// replaced with SetValue is what the next step reads.
func TestSeparateGradsMatchesWhole(t *testing.T) {
	const batch = 7
	r := rand.New(rand.NewPCG(3, 4))
	m := newShareModel(r)
	ids := make([]int32, batch*(smT+1))
	for i := range ids {
		ids[i] = int32(r.IntN(smVocab))
	}
	whole := func() [][]float32 {
		m.zeroGrad()
		m.loss(nil, ids, 0, batch).Backward()
		return m.grads()
	}
	cuts := []int{0, 3, 7} // shares of 3 and 4 rows
	arenas := []*Arena{NewArena(), NewArena()}
	for _, a := range arenas {
		a.SeparateGrads(true)
	}
	shares := func(concurrent bool) {
		var wg sync.WaitGroup
		for i, a := range arenas {
			run := func() {
				a.Reset()
				l := m.loss(a, ids, cuts[i], cuts[i+1])
				l.BackwardWith(tensor.Full(float32(cuts[i+1]-cuts[i])/batch, l.Value().Shape()...))
			}
			if concurrent {
				wg.Add(1)
				go func() { defer wg.Done(); run() }()
			} else {
				run()
			}
		}
		wg.Wait()
	}
	check := func(want, got [][]float32, what string) {
		t.Helper()
		for k := range want {
			require.Len(t, got[k], len(want[k]), "%s: parameter %d", what, k)
			for j := range want[k] {
				w, g := float64(want[k][j]), float64(got[k][j])
				require.InDelta(t, w, g, 2e-5+2e-5*math.Abs(w), "%s: parameter %d element %d", what, k, j)
			}
		}
	}
	want := whole()
	for step, concurrent := range []bool{false, true, true} {
		t.Run(fmt.Sprint("step", step), func(t *testing.T) {
			if step == 2 {
				// New values, as a checkpoint load sets them: LayerNorm's
				// backward reads its weight through the graph's input.
				for _, p := range []*Var{m.w1, m.g} {
					nv := p.Value().Clone()
					for i := range nv.Data() {
						nv.Data()[i] *= -0.5
					}
					p.SetValue(nv)
				}
				want = whole()
			}
			m.zeroGrad()
			shares(concurrent)
			for k, g := range m.grads() {
				for j, v := range g {
					require.Zerof(t, v, "parameter %d element %d changed before MergeGrads", k, j)
				}
			}
			for _, a := range arenas {
				a.MergeGrads()
			}
			check(want, m.grads(), "merged")
		})
	}
	// A merge adds to what the gradients hold (accumulation over steps).
	shares(true)
	for _, a := range arenas {
		a.MergeGrads()
	}
	doubled := make([][]float32, len(want))
	for k := range want {
		for _, v := range want[k] {
			doubled[k] = append(doubled[k], 2*v)
		}
	}
	check(doubled, m.grads(), "accumulated")
	// Nothing left behind: a second merge without a backward adds nothing.
	for _, a := range arenas {
		a.MergeGrads()
	}
	check(doubled, m.grads(), "merged twice")
}

// TestSeparateGradsOff checks that an arena with SeparateGrads turned off
// again accumulates into the parameters directly, as a plain arena does.
func TestSeparateGradsOff(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m := newShareModel(r)
	ids := make([]int32, 2*(smT+1))
	for i := range ids {
		ids[i] = int32(r.IntN(smVocab))
	}
	a := NewArena()
	a.SeparateGrads(true)
	a.SeparateGrads(false)
	m.loss(a, ids, 0, 2).Backward()
	nonzero := false
	for _, g := range m.grads() {
		for _, v := range g {
			nonzero = nonzero || v != 0
		}
	}
	require.True(t, nonzero, "no gradient reached the parameters")
}
