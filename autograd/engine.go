package autograd

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// node records how a Var was computed: its inputs and a function that maps
// the gradient of the output to the gradients of the inputs.
//
// The function is either a closure over what the op saved (backward), or,
// for the ops of a training step that must allocate nothing once warm, a
// plain function (fn) that reads what the op saved in the node itself. An
// arena recycles nodes, so the second form costs nothing per step.
type node struct {
	op       string
	inputs   []*Var
	backward func(g *tensor.Tensor) []*tensor.Tensor
	fn       func(n *node, g *tensor.Tensor) []*tensor.Tensor
	saved    saved
	// foldsPrior, set when the op is recorded, lets fn add into its first
	// input's gradient what the ops run before it gathered there, in the
	// pass that computes its own part, instead of the engine adding the
	// two in a pass of its own: the engine hands that gradient to fn in
	// prior (nil when there is none, read-only), and fn sets folded when
	// the gradient it returns for its first input includes it. fn sets
	// fresh when that gradient is a buffer of its own that nothing else
	// holds, into which the engine may add what later ops give the input
	// rather than sum the two into a new buffer.
	foldsPrior, folded, fresh bool
	prior                     *tensor.Tensor
}

// saved is what an op recorded with recordFn keeps for its backward.
type saved struct {
	t     [2]*tensor.Tensor // tensors the backward reads
	ints  []int             // class indices and the like (not copied)
	f32s  []float32
	i32s  []int32 // ids drawn from an arena (not copied)
	i     [2]int
	f     float32
	elem  func(gx, g, x, y []float32) // an element-wise derivative
	shape [6]int                      // a short shape (see savedShape)
	rank  int
	grads [4]*tensor.Tensor // storage for the slice fn returns
}

// out returns the first k slots of s.grads, cleared, for fn to fill and
// return.
func (s *saved) out(k int) []*tensor.Tensor {
	g := s.grads[:k]
	clear(g)
	return g
}

// setShape keeps shape when it fits, reporting whether it did.
func (s *saved) setShape(shape []int) bool {
	if len(shape) > len(s.shape) {
		return false
	}
	s.rank = copy(s.shape[:], shape)
	return true
}

// needsGrad reports whether an op over inputs must be recorded: some input
// requires a gradient and none is in inference mode.
func needsGrad(inputs ...*Var) bool {
	rec := false
	for _, v := range inputs {
		if v.inference {
			return false
		}
		rec = rec || v.requiresGrad
	}
	return rec
}

// arenaOf returns the first arena carried by inputs, or nil.
func arenaOf(inputs ...*Var) *Arena {
	for _, v := range inputs {
		if v.arena != nil {
			return v.arena
		}
	}
	return nil
}

// alloc returns a tensor of the given shape for an op's output: from the
// inputs' arena in inference mode, freshly allocated (zeroed) otherwise. The
// op must overwrite every element.
func alloc(shape []int, inputs ...*Var) *tensor.Tensor {
	if a := arenaOf(inputs...); a != nil {
		return a.tensor(shape)
	}
	return tensor.Zeros(shape...)
}

// wrap makes the output Var of an op whose value is t, inheriting inference
// mode and arena from inputs. The caller attaches a node with record when
// out.requiresGrad is true.
func wrap(t *tensor.Tensor, inputs ...*Var) *Var {
	var out *Var
	if a := arenaOf(inputs...); a != nil {
		out = a.variable()
		out.value = t
	} else {
		out = &Var{value: t}
	}
	for _, v := range inputs {
		if v.inference {
			out.inference = true
		}
	}
	out.requiresGrad = !out.inference && needsGrad(inputs...)
	out.arena = arenaOf(inputs...)
	return out
}

// record attaches the op that produced out. backward receives the gradient
// of out and returns one gradient per input (nil for inputs that do not need
// one); it must not modify its argument and may return it unchanged.
func (v *Var) record(op string, backward func(g *tensor.Tensor) []*tensor.Tensor, inputs ...*Var) *Var {
	if !v.requiresGrad {
		return v
	}
	if v.arena != nil {
		n := v.arena.node()
		n.op, n.backward = op, backward
		n.inputs = append(n.inputs, inputs...)
		v.arena.params(n.inputs)
		v.node = n
		return v
	}
	v.node = &node{op: op, inputs: append([]*Var(nil), inputs...), backward: backward}
	return v
}

// recordFn attaches the op that produced out with an allocation-free
// backward: fn receives the node, whose saved fields the caller fills in
// through the returned pointer (nil when out needs no gradient).
func (v *Var) recordFn(op string, fn func(n *node, g *tensor.Tensor) []*tensor.Tensor, inputs ...*Var) *saved {
	if !v.requiresGrad {
		return nil
	}
	var n *node
	if v.arena != nil {
		n = v.arena.node()
		n.inputs = append(n.inputs, inputs...)
		v.arena.params(n.inputs)
	} else {
		n = &node{inputs: append([]*Var(nil), inputs...)}
	}
	n.op, n.fn = op, fn
	v.node = n
	return &n.saved
}

// Backward computes the gradient of v, which must hold a single value (a
// loss), with respect to every Var it depends on that requires a gradient,
// and accumulates it into their Grad. The graph's intermediates are released
// afterwards, so Backward may be called only once per forward pass.
func (v *Var) Backward() {
	if v.value.Size() != 1 {
		panic(fmt.Sprintf("autograd.Backward: output has shape %v; use BackwardWith for a non-scalar output", v.value.Shape()))
	}
	var seed *tensor.Tensor
	if v.arena != nil {
		seed = v.arena.tensor(v.value.Shape())
		seed.Data()[0] = 1
	} else {
		seed = tensor.Full(1, v.value.Shape()...)
	}
	v.BackwardWith(seed)
}

// BackwardWith runs backpropagation from v seeded with grad, the gradient of
// some scalar with respect to v (same shape as v).
func (v *Var) BackwardWith(grad *tensor.Tensor) {
	if !tensor.SameShape(grad, v.value) {
		panic(fmt.Sprintf("autograd.BackwardWith: gradient shape %v does not match output shape %v", grad.Shape(), v.value.Shape()))
	}
	if v.freed {
		panic("autograd.Backward: the graph behind this Var was already released by an earlier Backward")
	}
	if !v.requiresGrad {
		panic("autograd.Backward: the output does not depend on any Var that requires a gradient")
	}
	tp := &tape{}
	if v.arena != nil {
		tp = &v.arena.tape
	}
	order := tp.topoSort(v)
	if tp.pending == nil {
		tp.pending = make(map[*Var]*tensor.Tensor, len(order))
	}
	pending := tp.pending
	pending[v] = grad
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		g := pending[n]
		delete(pending, n)
		if n.node == nil {
			if g != nil {
				n.accumulate(g)
			}
			continue
		}
		if g != nil {
			var grads []*tensor.Tensor
			if nd := n.node; nd.fn != nil {
				if nd.foldsPrior {
					nd.prior, nd.folded, nd.fresh = pending[nd.inputs[0]], false, false
				}
				grads = nd.fn(nd, g)
				nd.prior = nil
			} else {
				grads = nd.backward(g)
			}
			for j, in := range n.node.inputs {
				if j >= len(grads) || grads[j] == nil || !in.requiresGrad {
					continue
				}
				gj := grads[j]
				if !tensor.SameShape(gj, in.value) {
					panic(fmt.Sprintf("autograd: backward of %s returned gradient of shape %v for input %d of shape %v", n.node.op, gj.Shape(), j, in.value.Shape()))
				}
				prev, ok := pending[in]
				switch {
				case ok && j == 0 && n.node.folded:
					pending[in] = gj // the op added prev into its gradient
				case ok && tp.owned[in] == prev:
					// A Var used twice, its gradient so far a buffer of
					// the engine's own: the sum goes there.
					kernel.Add(prev.Data(), prev.Data(), gj.Data())
				case ok:
					// A Var used twice: the sum comes from its arena.
					sum := gradBuf(prev.Shape(), in)
					kernel.Add(sum.Data(), prev.Data(), gj.Data())
					pending[in] = sum
					tp.own(in, sum)
				default:
					pending[in] = gj
				}
				if j == 0 && n.node.fresh && pending[in] == gj {
					tp.own(in, gj)
				}
			}
		}
		// Release the op so its inputs and saved tensors can be collected.
		n.node = nil
		n.freed = true
	}
	clear(order) // the arena keeps the scratch, not the graph
	clear(pending)
	clear(tp.owned)
}

// own records g as the pending gradient of v that no one else holds.
func (tp *tape) own(v *Var, g *tensor.Tensor) {
	if tp.owned == nil {
		tp.owned = make(map[*Var]*tensor.Tensor)
	}
	tp.owned[v] = g
}

// accumulate adds g into a leaf's gradient, owning a private buffer so that
// later accumulations can work in place.
func (v *Var) accumulate(g *tensor.Tensor) {
	if v.grad == nil {
		v.grad = g.Clone()
		return
	}
	if v.gradStale && tensor.SameShape(v.grad, g) {
		copy(v.grad.Data(), g.Data())
		v.gradStale = false
		return
	}
	v.settleGrad()
	if tensor.SameShape(v.grad, g) {
		d := v.grad.Data()
		kernel.Add(d, d, g.Data())
		return
	}
	tensor.AddInPlace(v.grad, g)
}

// leafGrad returns the gradient buffer of v when v is a trainable leaf
// (a parameter), creating it zeroed on first use, so that a backward can
// accumulate into it directly rather than hand a gradient to the engine;
// nil otherwise.
func leafGrad(v *Var) *tensor.Tensor {
	if !v.requiresGrad || v.node != nil || v.freed {
		return nil
	}
	if v.grad == nil {
		v.grad = tensor.Zeros(v.value.Shape()...)
	} else if !tensor.SameShape(v.grad, v.value) {
		return nil
	}
	v.settleGrad()
	return v.grad
}

// leafGradOverwrite is leafGrad for a caller that adds into the buffer
// with a GEMM: it also returns the GEMM's beta, 0 when the gradient was
// cleared by ZeroGrad and not touched since (the GEMM then overwrites it
// whole without reading the stale values), 1 otherwise. A parameter used
// twice in one graph gets 0 at its first use only.
func leafGradOverwrite(v *Var) (*tensor.Tensor, float32) {
	if !v.requiresGrad || v.node != nil || v.freed {
		return nil, 1
	}
	if v.grad != nil && v.gradStale && tensor.SameShape(v.grad, v.value) {
		v.gradStale = false
		return v.grad, 0
	}
	return leafGrad(v), 1
}

// topoSort returns the Vars reachable from root that require a gradient,
// ordered so that every Var comes after all of its inputs.
func (tp *tape) topoSort(root *Var) []*Var {
	order := tp.order[:0]
	if tp.visited == nil {
		tp.visited = make(map[*Var]bool)
	}
	visited := tp.visited
	defer clear(visited)
	stack := append(tp.stack[:0], frame{v: root})
	defer func() { tp.stack = stack[:0] }()
	visited[root] = true
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.v.node != nil && top.next < len(top.v.node.inputs) {
			in := top.v.node.inputs[top.next]
			top.next++
			if in.requiresGrad && !visited[in] {
				visited[in] = true
				stack = append(stack, frame{v: in})
			}
			continue
		}
		order = append(order, top.v)
		stack = stack[:len(stack)-1]
	}
	tp.order = order
	return order
}

// frame is one entry of topoSort's depth-first stack.
type frame struct {
	v    *Var
	next int
}
