package autograd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// geluUse is a graph over h = LinearGELU(x, w1, b1) for the tests of the
// fused backward: out is what the loss is taken of, probe the Var that
// the product's backward checks (its x), fast whether that backward
// multiplies h's gradient by GELU' itself.
type geluUse struct {
	name string
	fast bool
	f    func(h *Var, p geluParams) (out, probe *Var)
}

// geluParams are the weights of the ops after h: w2 [out, hid], b2 [out],
// res [n, out] (a constant), w3 [out, hid] and w4 [hid, hid].
type geluParams struct{ w2, b2, res, w3, w4 *Var }

const gfN, gfIn, gfHid, gfOut = 17, 7, 20, 9

var geluUses = []geluUse{
	{"LinearResidual", true, func(h *Var, p geluParams) (*Var, *Var) { return LinearResidual(h, p.w2, p.b2, p.res), h }},
	{"Linear", true, func(h *Var, p geluParams) (*Var, *Var) { return Linear(h, p.w2, p.b2), h }},
	{"Linear without bias", true, func(h *Var, p geluParams) (*Var, *Var) { return Linear(h, p.w2, nil), h }},
	{"through reshapes", true, func(h *Var, p geluParams) (*Var, *Var) {
		r := Reshape(Reshape(h, 1, gfN, gfHid), -1, gfHid)
		return LinearResidual(r, p.w2, p.b2, p.res), r
	}},
	{"two products, fused one first", false, func(h *Var, p geluParams) (*Var, *Var) {
		return Add(LinearResidual(h, p.w2, p.b2, p.res), Linear(h, p.w3, nil)), h
	}},
	{"two products, fused one last", false, func(h *Var, p geluParams) (*Var, *Var) {
		return Add(Linear(h, p.w3, nil), LinearResidual(h, p.w2, p.b2, p.res)), h
	}},
	{"product and another op", false, func(h *Var, p geluParams) (*Var, *Var) {
		return Add(Linear(h, p.w2, p.b2), Sum(h, true, 1)), h
	}},
	{"twice in one op", false, func(h *Var, p geluParams) (*Var, *Var) { return LinearResidual(h, p.w4, nil, h), h }},
	{"reshape used twice", false, func(h *Var, p geluParams) (*Var, *Var) {
		r := Reshape(h, gfN, gfHid)
		return Add(Linear(r, p.w2, p.b2), Linear(r, p.w3, nil)), r
	}},
	{"h and a reshape of it", false, func(h *Var, p geluParams) (*Var, *Var) {
		r := Reshape(h, gfN, gfHid)
		return Add(LinearResidual(r, p.w2, p.b2, p.res), Linear(h, p.w3, nil)), r
	}},
}

// gfVars makes the leaves: x [n, in] and b1 trainable or constant as
// asked, the rest trainable (res constant), x from a when a is not nil.
func gfVars(a *Arena, xReq, bReq bool) (x, w1, b1 *Var, p geluParams) {
	xt := rnd(90, -2, 2, gfN, gfIn)
	switch {
	case a != nil:
		x = a.Constant(xt)
	case xReq:
		x = NewVar(xt)
	default:
		x = Constant(xt)
	}
	w1, b1 = NewVar(rnd(91, -1, 1, gfHid, gfIn)), NewVar(rnd(92, -1, 1, gfHid))
	if !bReq {
		b1 = Constant(b1.Value())
	}
	p = geluParams{NewVar(rnd(93, -1, 1, gfOut, gfHid)), NewVar(rnd(94, -1, 1, gfOut)),
		Constant(rnd(95, -1, 1, gfN, gfOut)), NewVar(rnd(96, -1, 1, gfOut, gfHid)), NewVar(rnd(97, -1, 1, gfHid, gfHid))}
	return x, w1, b1, p
}

// TestLinearGELUFusedGrad checks the product's backward that multiplies
// LinearGELU's output gradient by GELU' as the GEMM writes it: it is taken
// exactly where h's gradient comes from that one product (through
// reshapes), and every graph, fused or not (h used by two ops, by one op
// twice, a reshape of it used twice), gives the unfused passes' value and
// gradients bit for bit, over two backward passes that accumulate into the
// leaves, with trainable or constant input and bias, without an arena,
// with one, and with one that keeps separate gradients.
func TestLinearGELUFusedGrad(t *testing.T) {
	defer func(on bool) { fuseGELUGrad = on }(fuseGELUGrad)
	for _, u := range geluUses {
		for _, mode := range []string{"plain", "constant input", "constant bias", "arena", "separate grads"} {
			run := func(fused bool) [][]float32 {
				fuseGELUGrad = fused
				var a *Arena
				if mode == "arena" || mode == "separate grads" {
					a = NewArena()
					a.SeparateGrads(mode == "separate grads")
				}
				x, w1, b1, p := gfVars(a, mode != "constant input", mode != "constant bias")
				var res [][]float32
				for range 2 {
					if a != nil {
						a.Reset()
						x = a.Constant(x.Value())
					}
					out, probe := u.f(LinearGELU(x, w1, b1), p)
					require.Equal(t, fused && u.fast, geluProducer(probe) != nil, "%s, %s: fused path taken", u.name, mode)
					out.BackwardWith(rnd(98, -1, 1, out.Shape()...))
					if a != nil {
						a.MergeGrads()
					}
					res = append(res, append([]float32(nil), out.Value().Data()...))
				}
				for _, v := range []*Var{x, w1, b1, p.w2, p.b2, p.w3, p.w4} {
					if v.RequiresGrad() && v.Grad() != nil {
						res = append(res, v.Grad().Data())
					} else {
						res = append(res, nil)
					}
				}
				return res
			}
			want, got := run(false), run(true)
			for i := range want {
				require.Equal(t, len(want[i]), len(got[i]), "%s, %s: result %d", u.name, mode, i)
				for j := range want[i] {
					if math.Float32bits(want[i][j]) != math.Float32bits(got[i][j]) {
						t.Fatalf("%s, %s: result %d [%d] = %v, want %v", u.name, mode, i, j, got[i][j], want[i][j])
					}
				}
			}
		}
	}
}

// TestLinearGELUFusedGradCheck checks every graph of the fused backward's
// tests numerically, fused path on.
func TestLinearGELUFusedGradCheck(t *testing.T) {
	for _, u := range geluUses {
		_, _, _, p := gfVars(nil, true, true)
		checkGrad(t, func(v ...*Var) *Var {
			out, _ := u.f(LinearGELU(v[0], v[1], v[2]), geluParams{v[3], v[4], p.res, v[5], v[6]})
			return out
		}, rnd(90, -2, 2, gfN, gfIn), rnd(91, -1, 1, gfHid, gfIn), rnd(92, -1, 1, gfHid),
			p.w2.Value(), p.b2.Value(), p.w3.Value(), p.w4.Value())
	}
}

// TestLinearGELUFusedGradWorkers checks the fused backward on a product
// large enough to be split across workers, with its bias gradient's sums
// split by columns: one worker and two give the unfused passes' bits.
func TestLinearGELUFusedGradWorkers(t *testing.T) {
	defer func(on bool) { fuseGELUGrad = on }(fuseGELUGrad)
	const n, in, hid, out = 150, 24, 520, 40
	xt, w1t, b1t := rnd(100, -2, 2, n, in), rnd(101, -1, 1, hid, in), rnd(102, -1, 1, hid)
	w2t, b2t, rt, g := rnd(103, -1, 1, out, hid), rnd(104, -1, 1, out), rnd(105, -1, 1, n, out), rnd(106, -1, 1, n, out)
	run := func() [][]float32 {
		x, w1, b1, w2, b2 := NewVar(xt), NewVar(w1t), NewVar(b1t), NewVar(w2t), NewVar(b2t)
		y := LinearResidual(LinearGELU(x, w1, b1), w2, b2, Constant(rt))
		y.BackwardWith(g)
		return [][]float32{y.Value().Data(), x.Grad().Data(), w1.Grad().Data(), b1.Grad().Data(), w2.Grad().Data(), b2.Grad().Data()}
	}
	fuseGELUGrad = false
	want, _ := onWorkers(t, run)
	fuseGELUGrad = true
	one, two := onWorkers(t, run)
	for i := range want {
		require.Equal(t, want[i], one[i], "one worker, result %d", i)
		require.Equal(t, want[i], two[i], "two workers, result %d", i)
	}
}
