package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/tensor"
)

func swapLast2(s []int) []int {
	s = append([]int(nil), s...)
	s[len(s)-1], s[len(s)-2] = s[len(s)-2], s[len(s)-1]
	return s
}

func TestGradMatMulBroadcast(t *testing.T) {
	cases := []struct{ a, b []int }{
		{[]int{2, 3, 4, 5}, []int{2, 3, 5, 3}}, // [B,H,T,D]·[B,H,D,S]
		{[]int{2, 3, 4}, []int{4, 5}},          // [B,T,D]·[D,E]
		{[]int{3, 4}, []int{2, 4, 5}},          // shared left operand
		{[]int{2, 1, 3, 4}, []int{3, 4, 2}},    // broadcast both ways
	}
	for i, c := range cases {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				as, bs := c.a, c.b
				if ta {
					as = swapLast2(as)
				}
				if tb {
					bs = swapLast2(bs)
				}
				t.Run(fmt.Sprintf("%v·%v/tA=%v/tB=%v", c.a, c.b, ta, tb), func(t *testing.T) {
					checkGrad(t, func(xs ...*Var) *Var { return MatMulTrans(xs[0], xs[1], ta, tb) },
						rnd(uint64(10+i), -1, 1, as...), rnd(uint64(20+i), -1, 1, bs...))
				})
			}
		}
	}
	require.PanicsWithValue(t, "autograd.MatMul: shapes [2 3 4] and [3 4 5] do not multiply (transA=false, transB=false)",
		func() { MatMul(Constant(tensor.Zeros(2, 3, 4)), Constant(tensor.Zeros(3, 4, 5))) })
}

func TestEmbedding(t *testing.T) {
	w := NewVar(tensor.New([]float32{0, 0, 1, 1, 2, 2, 3, 3}, 4, 2))
	y := Embedding(w, []int{2, 1, 1, 0, 3}, 0)
	require.Equal(t, []float32{2, 2, 1, 1, 1, 1, 0, 0, 3, 3}, y.Value().Data())
	// Weighted sum so that each position's gradient is distinguishable.
	coef := tensor.New([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, 2)
	Sum(Mul(y, Constant(coef)), false).Backward()
	// Row 1 is used twice: gradients add. Row 0 is padding: none.
	require.Equal(t, []float32{0, 0, 3 + 5, 4 + 6, 1, 2, 9, 10}, w.Grad().Data())

	checkGrad(t, func(xs ...*Var) *Var { return Embedding(xs[0], []int{3, 0, 3, 1}, -1) }, rnd(1, -1, 1, 4, 3))
	require.PanicsWithValue(t, "autograd.Embedding: id 4 at position 1 is outside [0, 4)",
		func() { Embedding(w, []int{0, 4}, -1) })
}

func TestSplitChunk(t *testing.T) {
	x := tensor.New([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 6)
	ps := Split(Constant(x), 1, 1, 3, 2)
	require.Equal(t, []float32{1, 7}, ps[0].Value().Data())
	require.Equal(t, []float32{2, 3, 4, 8, 9, 10}, ps[1].Value().Data())
	require.Equal(t, []float32{5, 6, 11, 12}, ps[2].Value().Data())
	cs := Chunk(Constant(x), 2, 0)
	require.Equal(t, []float32{7, 8, 9, 10, 11, 12}, cs[1].Value().Data())
	checkGrad(t, func(xs ...*Var) *Var {
		p := Chunk(xs[0], 3, 1)
		// Unequal weights so that a piece landing in the wrong place shows.
		return Add(Add(MulScalar(p[0], 2), Square(p[1])), MulScalar(p[2], -3))
	}, rnd(2, -1, 1, 2, 6, 2))
	checkGrad(t, func(xs ...*Var) *Var {
		p := Split(xs[0], 0, 1, 2)
		return p[1] // the unused piece must get a zero gradient
	}, rnd(3, -1, 1, 3, 2))
	require.PanicsWithValue(t, "autograd.Chunk: axis 1 of shape [2 6] does not split into 4 equal pieces",
		func() { Chunk(Constant(x), 4, 1) })
	require.PanicsWithValue(t, "autograd.Split: sizes [1 2] do not add up to axis 1 of shape [2 6]",
		func() { Split(Constant(x), 1, 1, 2) })
}

func TestMaskedFillWhereTri(t *testing.T) {
	x := tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	m := tensor.New([]float32{0, 1, 0}, 3)
	require.Equal(t, []float32{1, -9, 3, 4, -9, 6}, MaskedFill(Constant(x), m, -9).Value().Data())
	checkGrad(t, func(xs ...*Var) *Var { return MaskedFill(xs[0], m, 7) }, rnd(4, -1, 1, 2, 3))

	cond := tensor.New([]float32{1, 0}, 2, 1)
	y := Where(cond, Constant(x), Constant(tensor.Full(-1, 3)))
	require.Equal(t, []float32{1, 2, 3, -1, -1, -1}, y.Value().Data())
	checkGrad(t, func(xs ...*Var) *Var { return Where(cond, xs[0], xs[1]) }, rnd(5, -1, 1, 2, 3), rnd(6, -1, 1, 3))

	sq := tensor.New([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3)
	require.Equal(t, []float32{1, 0, 0, 4, 5, 0, 7, 8, 9}, Tril(Constant(sq), 0).Value().Data())
	require.Equal(t, []float32{0, 2, 3, 0, 0, 6, 0, 0, 0}, Triu(Constant(sq), 1).Value().Data())
	require.Equal(t, []float32{1, 2, 0, 4, 5, 6, 7, 8, 9}, Tril(Constant(sq), 1).Value().Data())
	checkGrad(t, func(xs ...*Var) *Var { return Tril(xs[0], -1) }, rnd(7, -1, 1, 2, 3, 4))
	checkGrad(t, func(xs ...*Var) *Var { return Triu(xs[0], 0) }, rnd(8, -1, 1, 4, 3))

	require.Equal(t, []float32{0, 1, 1, 0, 0, 1}, CausalMask(2, 3).Data())
	add := AdditiveMask(CausalMask(2, 2)).Data()
	require.Equal(t, float32(0), add[0])
	require.True(t, math.IsInf(float64(add[1]), -1))
}

// refAttention composes attention from separate ops on [B, H, T, D]
// inputs: softmax(q·kᵀ·scale + mask)·v, with masked scores set to −1e9.
func refAttention(q, k, v *Var, opt AttentionOptions) *Var {
	qs, ks := q.Shape(), k.Shape()
	b, tq, s := qs[0], qs[2], ks[2]
	scale := opt.Scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(qs[3])))
	}
	sc := MulScalar(MatMulTrans(q, k, false, true), scale)
	if opt.Mask != nil {
		sc = Add(sc, Constant(opt.Mask))
	}
	forbid := tensor.Zeros(b, 1, tq, s)
	for bi := 0; bi < b; bi++ {
		for i := 0; i < tq; i++ {
			for j := 0; j < s; j++ {
				if (opt.Causal && j > i) || (opt.KeyPadding != nil && opt.KeyPadding[bi*s+j]) {
					forbid.Set(1, bi, 0, i, j)
				}
			}
		}
	}
	sc = MaskedFill(sc, forbid, -1e9)
	return MatMul(Softmax(sc, -1), v)
}

func attnCase(seed uint64, b, h, tq, s, d, dv int) (q, k, v *tensor.Tensor) {
	return rnd(seed, -1, 1, b, h, tq, d), rnd(seed+1, -1, 1, b, h, s, d), rnd(seed+2, -1, 1, b, h, s, dv)
}

func TestScaledDotProductAttentionMatchesComposed(t *testing.T) {
	kpm := []bool{false, false, true, false, true, false, false, false, false, false}
	addMask := rnd(40, -1, 1, 4, 5)
	cases := []struct {
		name string
		opt  AttentionOptions
		tq   int
	}{
		{"plain", AttentionOptions{}, 4},
		{"causal", AttentionOptions{Causal: true}, 5},
		{"causal cross T<S", AttentionOptions{Causal: true}, 4},
		{"padding", AttentionOptions{KeyPadding: kpm}, 4},
		{"causal+padding+mask+scale", AttentionOptions{Causal: true, KeyPadding: kpm, Mask: addMask, Scale: 0.7}, 4},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			qt, kt, vt := attnCase(uint64(30+3*i), 2, 3, c.tq, 5, 4, 6)
			if c.opt.Mask != nil && c.tq != 4 {
				t.Fatal("mask case needs tq 4")
			}
			run := func(f func(q, k, v *Var) *Var) (*tensor.Tensor, [3]*tensor.Tensor) {
				q, k, v := NewVar(qt), NewVar(kt), NewVar(vt)
				y := f(q, k, v)
				proj := rnd(99, 0.5, 1.5, y.Shape()...)
				Sum(Mul(y, Constant(proj)), false).Backward()
				return y.Value(), [3]*tensor.Tensor{q.Grad(), k.Grad(), v.Grad()}
			}
			want, wg := run(func(q, k, v *Var) *Var { return refAttention(q, k, v, c.opt) })
			got, gg := run(func(q, k, v *Var) *Var { return ScaledDotProductAttention(q, k, v, c.opt) })
			require.Less(t, tensor.MaxAbsDiff(want, got), float32(1e-5))
			for j := range wg {
				require.Less(t, tensor.MaxAbsDiff(wg[j], gg[j]), float32(1e-5), "gradient of input %d", j)
			}
			checkGrad(t, func(xs ...*Var) *Var { return ScaledDotProductAttention(xs[0], xs[1], xs[2], c.opt) }, qt, kt, vt)
		})
	}
}

// toHeadsLast turns [B, H, T, D] into [B, T, H·D].
func toHeadsLast(x *tensor.Tensor) *tensor.Tensor {
	s := x.Shape()
	return tensor.Permute(x, 0, 2, 1, 3).Reshape(s[0], s[2], s[1]*s[3])
}

func TestAttentionHeadsLastAndPacked(t *testing.T) {
	qt, kt, vt := attnCase(50, 2, 3, 5, 5, 4, 4)
	kpm := []bool{false, true, false, false, false, false, false, false, true, true}
	opt := AttentionOptions{Causal: true, KeyPadding: kpm}
	want := toHeadsLast(ScaledDotProductAttention(Constant(qt), Constant(kt), Constant(vt), opt).Value())
	opt.Heads = 3
	q3, k3, v3 := toHeadsLast(qt), toHeadsLast(kt), toHeadsLast(vt)
	got := ScaledDotProductAttention(Constant(q3), Constant(k3), Constant(v3), opt).Value()
	require.Less(t, tensor.MaxAbsDiff(want, got), float32(1e-6))
	packed := tensor.Concat(2, q3, k3, v3)
	got = SelfAttention(Constant(packed), opt).Value()
	require.Less(t, tensor.MaxAbsDiff(want, got), float32(1e-6))

	checkGrad(t, func(xs ...*Var) *Var { return ScaledDotProductAttention(xs[0], xs[1], xs[2], opt) }, q3, k3, v3)
	checkGrad(t, func(xs ...*Var) *Var { return SelfAttention(xs[0], opt) }, packed)
	// Cross-attention with different lengths and value width.
	optX := AttentionOptions{Heads: 2}
	checkGrad(t, func(xs ...*Var) *Var { return ScaledDotProductAttention(xs[0], xs[1], xs[2], optX) },
		rnd(51, -1, 1, 2, 3, 4), rnd(52, -1, 1, 2, 5, 4), rnd(53, -1, 1, 2, 5, 6))
	require.PanicsWithValue(t, "autograd.SelfAttention: input [2 5 12] is not [B, T, 3E] with E divisible by 3 heads",
		func() { SelfAttention(Constant(tensor.Zeros(2, 5, 12)), AttentionOptions{Heads: 3}) })
	require.PanicsWithValue(t, "autograd.ScaledDotProductAttention: key padding mask has 3 flags, want batch·keys = 2·5",
		func() {
			ScaledDotProductAttention(Constant(qt), Constant(kt), Constant(vt), AttentionOptions{KeyPadding: make([]bool, 3)})
		})
}

func TestAttentionBlocksAndParallel(t *testing.T) {
	// Large enough that (batch, head) pairs are spread over the workers,
	// and long enough that causal attention runs in several row blocks
	// (including T ≠ S both ways, and a partial last block).
	for i, sz := range [][2]int{{32, 32}, {70, 70}, {40, 75}, {75, 40}} {
		t.Run(fmt.Sprint(sz), func(t *testing.T) {
			qt, kt, vt := attnCase(uint64(60+3*i), 2, 4, sz[0], sz[1], 16, 8)
			kpm := make([]bool, 2*sz[1])
			kpm[3], kpm[sz[1]+5] = true, true
			for _, opt := range []AttentionOptions{{Causal: true}, {Causal: true, KeyPadding: kpm}, {}} {
				q, k, v := NewVar(qt), NewVar(kt), NewVar(vt)
				y := ScaledDotProductAttention(q, k, v, opt)
				proj := rnd(61, -1, 1, y.Shape()...)
				Sum(Mul(y, Constant(proj)), false).Backward()
				q2, k2, v2 := NewVar(qt), NewVar(kt), NewVar(vt)
				y2 := refAttention(q2, k2, v2, opt)
				Sum(Mul(y2, Constant(proj)), false).Backward()
				require.Less(t, tensor.MaxAbsDiff(y2.Value(), y.Value()), float32(1e-5))
				require.Less(t, tensor.MaxAbsDiff(q2.Grad(), q.Grad()), float32(1e-5))
				require.Less(t, tensor.MaxAbsDiff(k2.Grad(), k.Grad()), float32(1e-5))
				require.Less(t, tensor.MaxAbsDiff(v2.Grad(), v.Grad()), float32(1e-5))
			}
		})
	}
	// Dropout over several blocks still regenerates the same masks.
	qt, kt, vt := attnCase(69, 1, 2, 40, 40, 4, 4)
	checkGrad(t, func(xs ...*Var) *Var {
		return ScaledDotProductAttention(xs[0], xs[1], xs[2], AttentionOptions{Causal: true, Dropout: 0.2, Rand: rand.New(rand.NewPCG(1, 1))})
	}, qt, kt, vt)
}

func TestAttentionFullyMaskedRowIsZero(t *testing.T) {
	qt, kt, vt := attnCase(70, 1, 2, 3, 3, 4, 4)
	opt := AttentionOptions{KeyPadding: []bool{true, true, true}}
	q, k, v := NewVar(qt), NewVar(kt), NewVar(vt)
	y := ScaledDotProductAttention(q, k, v, opt)
	for _, x := range y.Value().Data() {
		require.Zero(t, x)
	}
	Sum(y, false).Backward()
	for _, g := range []*Var{q, k, v} {
		for _, x := range g.Grad().Data() {
			require.Zero(t, x)
		}
	}
}

func TestAttentionDropout(t *testing.T) {
	qt, kt, vt := attnCase(80, 2, 2, 6, 6, 4, 4)
	mk := func() AttentionOptions {
		return AttentionOptions{Causal: true, Dropout: 0.3, Rand: rand.New(rand.NewPCG(5, 6))}
	}
	a := ScaledDotProductAttention(Constant(qt), Constant(kt), Constant(vt), mk()).Value()
	b := ScaledDotProductAttention(Constant(qt), Constant(kt), Constant(vt), mk()).Value()
	require.True(t, tensor.Equal(a, b), "same generator, same masks")
	plain := ScaledDotProductAttention(Constant(qt), Constant(kt), Constant(vt), AttentionOptions{Causal: true}).Value()
	require.Greater(t, tensor.MaxAbsDiff(a, plain), float32(1e-3), "dropout changes the output")
	// The backward regenerates the forward's masks: with a fixed seed per
	// call the op is a deterministic function, and its gradient checks.
	checkGrad(t, func(xs ...*Var) *Var { return ScaledDotProductAttention(xs[0], xs[1], xs[2], mk()) }, qt, kt, vt)
	// About 30% of the probabilities are dropped.
	var g attnGeom
	g.seed, g.dropout, g.h = 9, 0.3, 1
	kb := g.newKeep(0, 0)
	kept := 0
	for range 100000 {
		if kb.next() {
			kept++
		}
	}
	require.InDelta(t, 70000, kept, 600)
}

func TestAttentionWeights(t *testing.T) {
	qt, kt, _ := attnCase(90, 2, 2, 4, 5, 3, 3)
	kpm := []bool{false, false, false, true, false, false, false, true, false, false}
	opt := AttentionOptions{Causal: true, KeyPadding: kpm}
	w := AttentionWeights(Constant(qt), Constant(kt), opt).Value()
	require.Equal(t, []int{2, 2, 4, 5}, w.Shape())
	// Rows sum to one, forbidden entries are zero.
	for bh := 0; bh < 4; bh++ {
		for i := 0; i < 4; i++ {
			var s float32
			for j := 0; j < 5; j++ {
				p := w.At(bh/2, bh%2, i, j)
				if j > i || kpm[(bh/2)*5+j] {
					require.Zero(t, p)
				}
				s += p
			}
			require.InDelta(t, 1, s, 1e-6)
		}
	}
	// The weights times v give the fused op's output.
	vt := rnd(91, -1, 1, 2, 2, 5, 3)
	fused := ScaledDotProductAttention(Constant(qt), Constant(kt), Constant(vt), opt).Value()
	require.Less(t, tensor.MaxAbsDiff(fused, tensor.MatMul(w, vt, false, false)), float32(1e-6))
	checkGrad(t, func(xs ...*Var) *Var { return AttentionWeights(xs[0], xs[1], opt) }, qt, kt)
}

func TestRotary(t *testing.T) {
	// One head of size 2 is a plain rotation by position·1.
	x := tensor.New([]float32{1, 0, 1, 0, 0, 1}, 1, 3, 2)
	y := Rotary(Constant(x), 1, 10000, 0).Value().Data()
	for p := 0; p < 2; p++ {
		require.InDelta(t, math.Cos(float64(p)), y[2*p], 1e-6)
		require.InDelta(t, math.Sin(float64(p)), y[2*p+1], 1e-6)
	}
	require.InDelta(t, -math.Sin(2), y[4], 1e-6)
	require.InDelta(t, math.Cos(2), y[5], 1e-6)

	// Scores of rotated queries and keys depend only on the distance.
	const d, heads = 8, 2
	q := rnd(100, -1, 1, 1, 1, heads*d)
	k := rnd(101, -1, 1, 1, 1, heads*d)
	score := func(pq, pk int) float32 {
		rq := Rotary(Constant(q), heads, 10000, pq).Value().Data()
		rk := Rotary(Constant(k), heads, 10000, pk).Value().Data()
		var s float32
		for i := range rq {
			s += rq[i] * rk[i]
		}
		return s
	}
	require.InDelta(t, score(3, 1), score(7, 5), 1e-5)
	require.InDelta(t, score(0, 4), score(2, 6), 1e-5)
	require.Greater(t, math.Abs(float64(score(3, 1)-score(1, 3))), 1e-3)
	checkGrad(t, func(xs ...*Var) *Var { return Rotary(xs[0], heads, 100, 2) }, rnd(102, -1, 1, 2, 3, heads*d))
	require.PanicsWithValue(t, "autograd.Rotary: input [2 5 6] is not [..., T, E] with E split into 2 heads of even size",
		func() { Rotary(Constant(tensor.Zeros(2, 5, 6)), 2, 10000, 0) })
}

// naiveConv1D is the textbook definition.
func naiveConv1D(x, w, b *tensor.Tensor, o Conv1DOptions) *tensor.Tensor {
	n, l := x.Dim(0), x.Dim(2)
	oc, cg, k := w.Dim(0), w.Dim(1), w.Dim(2)
	groups, s, d, p := max(o.Groups, 1), def1(o.Stride), def1(o.Dilation), o.Padding
	ol := (l+2*p-d*(k-1)-1)/s + 1
	y := tensor.Zeros(n, oc, ol)
	for si := range n {
		for co := range oc {
			gi := co / (oc / groups)
			for j := range ol {
				acc := 0.0
				if b != nil {
					acc = float64(b.At(co))
				}
				for ci := range cg {
					for kk := range k {
						if ix := j*s - p + kk*d; ix >= 0 && ix < l {
							acc += float64(x.At(si, gi*cg+ci, ix)) * float64(w.At(co, ci, kk))
						}
					}
				}
				y.Set(float32(acc), si, co, j)
			}
		}
	}
	return y
}

func TestConv1D(t *testing.T) {
	cases := []Conv1DOptions{{}, {Stride: 2, Padding: 1}, {Dilation: 2, Padding: 2}, {Groups: 2, Stride: 3}}
	for i, o := range cases {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			g := max(o.Groups, 1)
			x, w, b := rnd(uint64(110+i), -1, 1, 2, 4, 9), rnd(uint64(120+i), -1, 1, 6, 4/g, 3), rnd(uint64(130+i), -1, 1, 6)
			y := Conv1D(Constant(x), Constant(w), Constant(b), o).Value()
			require.Less(t, tensor.MaxAbsDiff(naiveConv1D(x, w, b, o), y), float32(1e-5))
			checkGrad(t, func(xs ...*Var) *Var { return Conv1D(xs[0], xs[1], xs[2], o) }, x, w, b)
		})
	}
	require.PanicsWithValue(t, "autograd.Conv1D: input [2 4] and weight [6 4 3] must both be 3-D ([N, C, L] and [outC, C/groups, k])",
		func() { Conv1D(Constant(tensor.Zeros(2, 4)), Constant(tensor.Zeros(6, 4, 3)), nil, Conv1DOptions{}) })
}

func TestPool1D(t *testing.T) {
	x := tensor.New([]float32{1, 5, 2, 8, 3, 0, 4, -1}, 1, 1, 8)
	require.Equal(t, []float32{5, 8, 3, 4}, MaxPool1D(Constant(x), Pool1DOptions{Kernel: 2}).Value().Data())
	require.Equal(t, []float32{5, 8, 4}, MaxPool1D(Constant(x), Pool1DOptions{Kernel: 3, Stride: 2}).Value().Data())
	require.Equal(t, []float32{3, 5, 1.5, 1.5}, AvgPool1D(Constant(x), Pool1DOptions{Kernel: 2}).Value().Data())
	// Padding counts in the divisor: (0+1)/2, (5+2)/2, ...
	require.Equal(t, []float32{0.5, 3.5, 5.5, 2, -0.5}, AvgPool1D(Constant(x), Pool1DOptions{Kernel: 2, Padding: 1}).Value().Data())
	checkGrad(t, func(xs ...*Var) *Var { return MaxPool1D(xs[0], Pool1DOptions{Kernel: 3, Stride: 2, Padding: 1}) }, awayFromZero(140, 2, 3, 9))
	checkGrad(t, func(xs ...*Var) *Var { return AvgPool1D(xs[0], Pool1DOptions{Kernel: 3, Stride: 1, Padding: 1}) }, rnd(141, -1, 1, 2, 3, 9))
}

// BenchmarkAttention compares the fused op with the same attention composed
// from MatMul, MaskedFill and Softmax (forward and backward, causal,
// B=32, H=4, T=128, D=32).
func BenchmarkAttention(b *testing.B) {
	qt, kt, vt := attnCase(200, 32, 4, 128, 128, 32, 32)
	proj := Constant(rnd(201, -1, 1, 32, 4, 128, 32))
	opt := AttentionOptions{Causal: true}
	for _, c := range []struct {
		name string
		f    func(q, k, v *Var) *Var
	}{
		{"fused", func(q, k, v *Var) *Var { return ScaledDotProductAttention(q, k, v, opt) }},
		{"composed", func(q, k, v *Var) *Var { return refAttention(q, k, v, opt) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				q, k, v := NewVar(qt), NewVar(kt), NewVar(vt)
				Sum(Mul(c.f(q, k, v), proj), false).Backward()
			}
		})
	}
}

// TestAttentionCacheDecoding runs causal attention over a preallocated key
// and value cache: a prefill and then one query at a time, with
// CausalOffset and KeyLen, must give the rows of one full causal pass.
func TestAttentionCacheDecoding(t *testing.T) {
	const b, tt, e, heads, maxLen = 2, 7, 8, 2, 10
	q, k, v := rnd(210, -1, 1, b, tt, e), rnd(211, -1, 1, b, tt, e), rnd(212, -1, 1, b, tt, e)
	kpm := make([]bool, b*tt)
	kpm[1], kpm[tt+2] = true, true
	full := ScaledDotProductAttention(Constant(q), Constant(k), Constant(v), AttentionOptions{Heads: heads, Causal: true, KeyPadding: kpm}).Value()
	kc, vc := tensor.Zeros(b, maxLen, e), tensor.Zeros(b, maxLen, e)
	kpmCache := make([]bool, b*maxLen)
	kpmCache[1], kpmCache[maxLen+2] = true, true
	put := func(from, to int) {
		for bi := 0; bi < b; bi++ {
			copy(kc.Data()[(bi*maxLen+from)*e:(bi*maxLen+to)*e], k.Data()[(bi*tt+from)*e:(bi*tt+to)*e])
			copy(vc.Data()[(bi*maxLen+from)*e:(bi*maxLen+to)*e], v.Data()[(bi*tt+from)*e:(bi*tt+to)*e])
		}
	}
	step := func(from, to int) *tensor.Tensor {
		put(from, to)
		qs := tensor.Slice(q, 1, from, to)
		return ScaledDotProductAttention(Constant(qs), Constant(kc), Constant(vc),
			AttentionOptions{Heads: heads, Causal: true, CausalOffset: from, KeyLen: to, KeyPadding: kpmCache}).Value()
	}
	got := []*tensor.Tensor{step(0, 4)}
	for i := 4; i < tt; i++ {
		got = append(got, step(i, i+1))
	}
	require.Less(t, tensor.MaxAbsDiff(full, tensor.Concat(1, got...)), float32(1e-6))
	// Gradients through the offset and key-length path.
	checkGrad(t, func(xs ...*Var) *Var {
		return ScaledDotProductAttention(xs[0], xs[1], xs[2], AttentionOptions{Heads: heads, Causal: true, CausalOffset: 2, KeyLen: 5})
	}, rnd(213, -1, 1, 1, 3, e), rnd(214, -1, 1, 1, 6, e), rnd(215, -1, 1, 1, 6, e))
	require.PanicsWithValue(t, "autograd.ScaledDotProductAttention: q [1 3 8], k [1 6 8], v [1 6 8]: KeyLen 7 exceeds the 6 keys",
		func() {
			ScaledDotProductAttention(Constant(tensor.Zeros(1, 3, 8)), Constant(tensor.Zeros(1, 6, 8)), Constant(tensor.Zeros(1, 6, 8)), AttentionOptions{Heads: 2, KeyLen: 7})
		})
}
