package onnx

import (
	"strings"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// fuse replaces chains of nodes by one op that runs them as the fused
// kernels do for native layers:
//
//   - Conv → Relu → MaxPool as autograd.Conv2DReLUMaxPool, Conv → Relu as
//     Conv2D with its ReLU option;
//   - Gemm → Relu with the ReLU in the packed GEMM's epilogue;
//   - MatMul → Add (a bias) → Relu, and MatMul → Add, as one packed GEMM
//     with the bias (and the ReLU) in its epilogue.
//
// A chain is fused only where each intermediate value is read by the next
// node of the chain alone, once, and is no graph output. The fused op
// takes the chain's place at its last node, where every input of the chain
// is defined. At run time it takes the fused path only when that computes
// what the nodes do (a 2-D convolution; a packed weight and a bias of the
// output's width at inference); otherwise it runs the nodes one after the
// other. Values are those of the nodes, bit for bit, as are gradients.
func (m *Model) fuse() {
	uses := map[string]int{}
	made := map[string]int{}
	reader := map[string]int{} // the last node reading a name
	for i, c := range m.nodes {
		for _, in := range c.node.inputs {
			uses[in]++
			reader[in] = i
		}
		for _, out := range c.node.outputs {
			made[out]++
		}
	}
	for _, o := range m.outputs {
		uses[o.Name]++ // a graph output has a reader outside the graph
	}
	taken := make([]bool, len(m.nodes))
	// next returns the node of type opType that alone reads node i's only
	// output, or -1.
	next := func(i int, opType string) int {
		n := m.nodes[i].node
		if len(n.outputs) != 1 {
			return -1
		}
		out := n.outputs[0]
		if _, ok := m.consts[out]; ok || out == "" || uses[out] != 1 || made[out] != 1 || m.hasInput(out) {
			return -1
		}
		j := reader[out]
		if j <= i || taken[j] || m.nodes[j].node.opType != opType {
			return -1
		}
		return j
	}
	fused := map[int]*compiled{}
	for i, c := range m.nodes {
		if taken[i] {
			continue
		}
		var chain []int
		var f op
		switch o := c.op.(type) {
		case *convOp:
			j := next(i, "Relu")
			if j < 0 {
				continue
			}
			cc := &convChain{conv: o, relu: m.nodes[j].op}
			chain = []int{i, j}
			if k := next(j, "MaxPool"); k >= 0 {
				if p, ok := m.nodes[k].op.(*maxPoolOp); ok {
					cc.pool = p
					chain = append(chain, k)
				}
			}
			f = cc
		case *gemmOp:
			j := next(i, "Relu")
			if j < 0 {
				continue
			}
			chain, f = []int{i, j}, &gemmReLU{gemm: o, relu: m.nodes[j].op}
		case *matMulOp:
			j := next(i, "Add")
			if j < 0 || len(m.nodes[j].node.inputs) != 2 {
				continue
			}
			mc := &matMulChain{mm: o, add: m.nodes[j].op}
			if m.nodes[j].node.inputs[0] != c.node.outputs[0] {
				mc.side = 1
			}
			chain = []int{i, j}
			if k := next(j, "Relu"); k >= 0 {
				mc.relu = m.nodes[k].op
				chain = append(chain, k)
			}
			f = mc
		default:
			continue
		}
		last := m.nodes[chain[len(chain)-1]]
		n := *c.node
		n.outputs = last.node.outputs
		if mc, ok := f.(*matMulChain); ok {
			add := m.nodes[chain[1]].node
			n.inputs = append(append([]string(nil), c.node.inputs...), add.inputs[1-mc.side])
		}
		labels := make([]string, len(chain))
		for k, j := range chain {
			taken[j] = true
			labels[k] = m.nodes[j].label
		}
		fused[chain[len(chain)-1]] = &compiled{node: &n, op: f, label: strings.Join(labels, " → ")}
	}
	nodes := m.nodes[:0]
	for i, c := range m.nodes {
		if f, ok := fused[i]; ok {
			nodes = append(nodes, f)
		} else if !taken[i] {
			nodes = append(nodes, c)
		}
	}
	clear(m.nodes[len(nodes):])
	m.nodes = nodes
}

// convChain is Conv → Relu, and Conv → Relu → MaxPool when pool is set.
type convChain struct {
	conv *convOp
	relu op
	pool *maxPoolOp
}

func (f *convChain) run(ins []value) ([]value, error) {
	x, w, b, err := f.conv.args(ins)
	if err != nil {
		return nil, err
	}
	if len(x.Shape()) == 4 {
		o, err := f.conv.opts2D()
		if err != nil {
			return nil, err
		}
		if f.pool == nil {
			o.ReLU = true
			return one(f.conv.cache.Conv2D(x, w, b, o)), nil
		}
		// Only the rank and the attributes are checked here; the window
		// is checked against the convolution's output by the op.
		if p, err := f.pool.w.pool2D(x.Shape()); err == nil {
			return one(f.conv.cache.Conv2DReLUMaxPool(x, w, b, o, p)), nil
		}
	}
	r, err := f.conv.run(ins)
	if err != nil {
		return nil, err
	}
	if r, err = f.relu.run(r); err != nil || f.pool == nil {
		return r, err
	}
	return f.pool.run(r)
}

// gemmReLU is Gemm → Relu.
type gemmReLU struct {
	gemm *gemmOp
	relu op
}

func (f *gemmReLU) run(ins []value) ([]value, error) {
	y, fused, err := f.gemm.apply(ins, tensor.ActReLU)
	if err != nil || fused {
		return one(y), err
	}
	return f.relu.run(one(y))
}

// matMulChain is MatMul → Add, and MatMul → Add → Relu when relu is set.
// Its inputs are MatMul's two and Add's other one; side is the position
// of MatMul's output among Add's inputs.
type matMulChain struct {
	mm   *matMulOp
	add  op
	side int
	relu op
}

func (f *matMulChain) run(ins []value) ([]value, error) {
	a, err := float(ins, 0)
	if err != nil {
		return nil, err
	}
	b, err := float(ins, 1)
	if err != nil {
		return nil, err
	}
	if c := ins[2].f; c != nil && f.mm.packs(a, b) {
		if cs := c.Shape(); len(cs) == 1 && cs[0] == b.Shape()[1] {
			act := tensor.ActNone
			if f.relu != nil {
				act = tensor.ActReLU
			}
			return one(autograd.LinearPacked(a, f.mm.packed.Get(b, false), c, act)), nil
		}
	}
	r, err := f.mm.run(ins[:2])
	if err != nil {
		return nil, err
	}
	var sum [2]value
	sum[f.side], sum[1-f.side] = r[0], ins[2]
	if r, err = f.add.run(sum[:]); err != nil || f.relu == nil {
		return r, err
	}
	return f.relu.run(r)
}
