package nn

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

// The stub modules below stand in for real layers: they own parameters and
// buffers named the way the real containers name them, which is all that
// state and save/load look at. Their Forward is the identity.

// stubDense is a Dense-like layer with weight [out, in] and bias [out].
type stubDense struct{ weight, bias *Param }

func newStubDense(prefix string, in, out int, r *rand.Rand) *stubDense {
	bound := float32(1 / math.Sqrt(float64(in))) // PyTorch's Linear init range
	return &stubDense{
		weight: &Param{Var: autograd.NewVar(tensor.RandU(r, -bound, bound, out, in)), Name: prefix + "weight"},
		bias:   &Param{Var: autograd.NewVar(tensor.RandU(r, -bound, bound, out)), Name: prefix + "bias"},
	}
}

func (d *stubDense) Forward(x *autograd.Var) *autograd.Var { return x }
func (d *stubDense) Params() []*Param                      { return []*Param{d.weight, d.bias} }

// stubNorm is a BatchNorm-like layer: weight and bias are trained, the
// running statistics are buffers.
type stubNorm struct{ weight, bias, mean, variance, count *Param }

func newStubNorm(prefix string, n int, r *rand.Rand) *stubNorm {
	buf := func(name string, t *tensor.Tensor) *Param {
		return &Param{Var: autograd.Constant(t), Name: prefix + name}
	}
	return &stubNorm{
		weight:   &Param{Var: autograd.NewVar(tensor.RandU(r, 0.5, 1.5, n)), Name: prefix + "weight"},
		bias:     &Param{Var: autograd.NewVar(tensor.RandU(r, -1, 1, n)), Name: prefix + "bias"},
		mean:     buf("running_mean", tensor.RandU(r, -1, 1, n)),
		variance: buf("running_var", tensor.RandU(r, 0.5, 2, n)),
		count:    buf("num_batches_tracked", tensor.Scalar(float32(r.IntN(1000)))),
	}
}

func (b *stubNorm) Forward(x *autograd.Var) *autograd.Var { return x }
func (b *stubNorm) Params() []*Param                      { return []*Param{b.weight, b.bias} }
func (b *stubNorm) Buffers() []*Param                     { return []*Param{b.mean, b.variance, b.count} }

// stubReLU has no state.
type stubReLU struct{}

func (stubReLU) Forward(x *autograd.Var) *autograd.Var { return x }
func (stubReLU) Params() []*Param                      { return nil }

// stubSeq is a Sequential-like container; children are built with their
// index as name prefix, as the real container renames them.
type stubSeq []Module

func (s stubSeq) Forward(x *autograd.Var) *autograd.Var { return x }

func (s stubSeq) Params() []*Param {
	var ps []*Param
	for _, m := range s {
		ps = append(ps, m.Params()...)
	}
	return ps
}

func (s stubSeq) Buffers() []*Param {
	var bs []*Param
	for _, m := range s {
		if b, ok := m.(BufferOwner); ok {
			bs = append(bs, b.Buffers()...)
		}
	}
	return bs
}

// newStubModel builds Dense(in,hidden) BatchNorm(hidden) ReLU Dense(hidden,out).
func newStubModel(seed uint64, in, hidden, out int) stubSeq {
	r := rand.New(rand.NewPCG(seed, 0))
	return stubSeq{
		newStubDense("0.", in, hidden, r),
		newStubNorm("1.", hidden, r),
		stubReLU{},
		newStubDense("3.", hidden, out, r),
	}
}

func names(ts []NamedTensor) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func TestStateDict(t *testing.T) {
	m := newStubModel(1, 4, 3, 2)
	sd := StateDict(m)
	require.Equal(t, []string{
		"0.bias", "0.weight",
		"1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight",
		"3.bias", "3.weight",
	}, names(sd))
	require.Equal(t, []int{3, 4}, sd[1].Value.Shape())
	require.Equal(t, []int{}, sd[3].Value.Shape())
	// Values are the model's own tensors.
	require.Same(t, m[0].(*stubDense).weight.Value(), sd[1].Value)
	require.Same(t, m[1].(*stubNorm).mean.Value(), sd[4].Value)

	// Params alone: no buffers.
	require.Equal(t, []string{"0.bias", "0.weight"}, names(StateDict(m[0])))
}

func TestStateDictDropsRepeats(t *testing.T) {
	d := newStubDense("", 2, 2, rand.New(rand.NewPCG(1, 0)))
	m := stubSeq{d, d} // the same layer listed twice
	require.Equal(t, []string{"bias", "weight"}, names(StateDict(m)))
	require.NoError(t, LoadStateDict(m, StateDict(m)))
}

func TestLoadStateDictCopiesIntoExistingTensors(t *testing.T) {
	src := newStubModel(1, 5, 4, 3)
	dst := newStubModel(2, 5, 4, 3)
	w := dst[0].(*stubDense).weight
	heldVar, heldTensor := w.Var, w.Value() // what an optimizer would hold

	require.NoError(t, LoadStateDict(dst, StateDict(src)))
	require.Same(t, heldVar, w.Var)
	require.Same(t, heldTensor, w.Value())
	requireSameState(t, src, dst)

	// The copy is deep: changing the source afterwards leaves dst alone.
	src[0].(*stubDense).weight.Value().Data()[0] = 42
	require.NotEqual(t, float32(42), heldTensor.Data()[0])
}

// requireSameState checks that two models hold bit-identical state.
func requireSameState(t *testing.T, want, got Module) {
	t.Helper()
	a, b := StateDict(want), StateDict(got)
	require.Equal(t, names(a), names(b))
	for i := range a {
		require.Equal(t, a[i].Value.Shape(), b[i].Value.Shape(), a[i].Name)
		require.Equal(t, bitsOf(a[i].Value.Data()), bitsOf(b[i].Value.Data()), a[i].Name)
	}
}

func TestLoadStateDictErrors(t *testing.T) {
	// The model is Dense(784,128) ReLU Dense(128,10) plus a stray layer;
	// each case edits the state before loading it.
	build := func() stubSeq {
		r := rand.New(rand.NewPCG(3, 0))
		return stubSeq{newStubDense("0.", 784, 128, r), stubReLU{}, newStubDense("2.", 128, 10, r)}
	}
	full := func() []NamedTensor { return StateDict(build()) }
	drop := func(ts []NamedTensor, name string) []NamedTensor {
		var out []NamedTensor
		for _, x := range ts {
			if x.Name != name {
				out = append(out, x)
			}
		}
		return out
	}
	set := func(ts []NamedTensor, name string, v *tensor.Tensor) []NamedTensor {
		for i := range ts {
			if ts[i].Name == name {
				ts[i].Value = v
			}
		}
		return ts
	}
	cases := []struct {
		name  string
		state []NamedTensor
		want  string
	}{
		{"missing", drop(full(), "2.bias"), "nn: load state: missing [2.bias]"},
		{"unexpected", append(full(), NamedTensor{Name: "3.weight", Value: tensor.Zeros(1)}), "nn: load state: unexpected [3.weight]"},
		{"shape", set(full(), "0.weight", tensor.Zeros(784, 128)), "nn: load state: shape mismatch 0.weight: state [784 128], model [128 784]"},
		{"rank", set(full(), "2.bias", tensor.Scalar(1)), "nn: load state: shape mismatch 2.bias: state [], model [10]"},
		{"nil value", set(full(), "2.bias", nil), "nn: load state: shape mismatch 2.bias: state has no value, model [10]"},
		{"repeated", append(full(), NamedTensor{Name: "0.bias", Value: tensor.Zeros(128)}), "nn: load state: repeated [0.bias]"},
		{"empty", nil, "nn: load state: missing [0.bias 0.weight 2.bias 2.weight]"},
		{
			"all at once",
			append(set(drop(full(), "2.bias"), "0.weight", tensor.Zeros(784, 128)), NamedTensor{Name: "3.weight", Value: tensor.Zeros(2)}),
			"nn: load state: missing [2.bias]; unexpected [3.weight]; shape mismatch 0.weight: state [784 128], model [128 784]",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := build()
			for _, p := range m.Params() { // make the target distinguishable
				p.Value().Data()[0] = -7
			}
			err := LoadStateDict(m, c.state)
			require.EqualError(t, err, c.want)
			for _, p := range m.Params() {
				require.Equal(t, float32(-7), p.Value().Data()[0], "model unchanged after an error: %s", p.Name)
			}
		})
	}
}

func TestLoadStateDictDuplicateModelNames(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 0))
	m := stubSeq{newStubDense("0.", 2, 2, r), newStubDense("0.", 2, 2, r)} // container bug
	err := LoadStateDict(m, nil)
	require.EqualError(t, err, "nn: load state: model has several tensors named [0.bias 0.weight]")
}

func TestLoadStateDictManyMismatches(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 0))
	var m stubSeq
	var state []NamedTensor
	for i := range 3 {
		d := newStubDense(strconv.Itoa(i)+".", 2, 3, r)
		m = append(m, d)
		state = append(state, NamedTensor{Name: d.weight.Name, Value: tensor.Zeros(2, 3)}, NamedTensor{Name: d.bias.Name, Value: tensor.Zeros(3)})
	}
	err := LoadStateDict(m, state)
	require.EqualError(t, err, "nn: load state: "+
		"shape mismatch 0.weight: state [2 3], model [3 2]; "+
		"shape mismatch 1.weight: state [2 3], model [3 2]; "+
		"shape mismatch 2.weight: state [2 3], model [3 2]")
}

// TestLoadErrorsStayShort loads a state with half a million unexpected
// names, some of them huge, plus many missing and mis-shaped tensors: the
// error names the first few of each kind, cuts long names and counts the
// rest, instead of quoting them all.
func TestLoadErrorsStayShort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 0))
	var m stubSeq
	var state []NamedTensor
	for i := range 20 {
		d := newStubDense(strconv.Itoa(i)+".", 2, 3, r)
		m = append(m, d)
		// Every weight mis-shaped, every bias missing.
		state = append(state, NamedTensor{Name: d.weight.Name, Value: tensor.Zeros(2, 3)})
	}
	huge := strings.Repeat("x", 1<<20)
	one := tensor.Zeros(1)
	for i := range 500_000 {
		name := "u." + strconv.Itoa(i)
		if i < 3 {
			name = "a" + strconv.Itoa(i) + huge
		}
		state = append(state, NamedTensor{Name: name, Value: one})
	}
	err := LoadStateDict(m, state)
	require.Error(t, err)
	msg := err.Error()
	require.Less(t, len(msg), 2000, msg[:min(len(msg), 2000)])
	require.Contains(t, msg, "missing [0.bias 1.bias 10.bias 11.bias 12.bias and 15 more]")
	require.Contains(t, msg, "unexpected [a0"+huge[:62]+"...(1048578 bytes) a1")
	require.Contains(t, msg, "u.10 u.100 and 499995 more]")
	require.Contains(t, msg, "shape mismatch 0.weight: state [2 3], model [3 2]; ")
	require.Contains(t, msg, "and 15 more shape mismatches")

	// A mis-shaped tensor with a very long shape is cut short too.
	state = []NamedTensor{{Name: "0.weight", Value: tensor.Zeros(make([]int, 10_000)...)}, {Name: "0.bias", Value: tensor.Zeros(3)}}
	err = LoadStateDict(m[:1], state)
	require.ErrorContains(t, err, "shape mismatch 0.weight: state [0 0 0 0 0 0 0 0 ... 0 0 0 0 0 0 0 0] (10000 dims), model [3 2]")
	require.Less(t, len(err.Error()), 200)
}
