package autograd

import (
	"fmt"
	"sync"

	"github.com/chewxy/math32"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/tensor"
)

// Reduction says how a loss combines its per-sample (or per-element)
// values into its output.
type Reduction int

const (
	// ReduceMean averages the values into a scalar: over samples for the
	// cross-entropy losses, over elements for the element-wise ones. It is
	// the zero value and PyTorch's default.
	ReduceMean Reduction = iota
	// ReduceSum adds the values into a scalar.
	ReduceSum
	// ReduceNone returns the values unreduced: one per sample for the
	// cross-entropy losses, one per element (shaped like the prediction)
	// for the element-wise ones.
	ReduceNone
)

// String returns "mean", "sum" or "none", as PyTorch spells them.
func (r Reduction) String() string {
	switch r {
	case ReduceMean:
		return "mean"
	case ReduceSum:
		return "sum"
	case ReduceNone:
		return "none"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

func checkReduction(op string, r Reduction) {
	if r < ReduceMean || r > ReduceNone {
		panic(fmt.Sprintf("autograd.%s: unknown reduction %v", op, r))
	}
}

// lossOut allocates the output of a loss: a scalar, or an unreduced tensor
// of shape none.
func lossOut(r Reduction, none []int, inputs ...*Var) *tensor.Tensor {
	if r == ReduceNone {
		return alloc(none, inputs...)
	}
	return alloc(nil, inputs...)
}

// finish stores the reduced value of a loss whose per-item values were
// summed into total over n items.
func finish(out *tensor.Tensor, r Reduction, total float64, n int) {
	switch r {
	case ReduceMean:
		if n == 0 {
			out.Data()[0] = math32.NaN() // as PyTorch: the mean of nothing
			return
		}
		out.Data()[0] = float32(total / float64(n))
	case ReduceSum:
		out.Data()[0] = float32(total)
	}
}

// upstream returns the factor by which item i's local gradient is scaled in
// backward: the incoming scalar gradient (divided by n for the mean), or
// the incoming gradient of item i when the loss is unreduced.
type upstream struct {
	g     []float32
	scale float32
}

func newUpstream(g *tensor.Tensor, r Reduction, n int) upstream {
	switch r {
	case ReduceNone:
		return upstream{g: g.Data()}
	case ReduceMean:
		return upstream{scale: g.Data()[0] / float32(n)}
	}
	return upstream{scale: g.Data()[0]}
}

func (u upstream) at(i int) float32 {
	if u.g != nil {
		return u.g[i]
	}
	return u.scale
}

// checkClasses validates the [B, C] logits and the B class indices of a
// classification loss.
func checkClasses(op string, x *tensor.Tensor, targets []int) (b, c int) {
	if x.Rank() != 2 {
		panic(fmt.Sprintf("autograd.%s: input must be [batch, classes], got shape %v", op, x.Shape()))
	}
	b, c = x.Dim(0), x.Dim(1)
	if len(targets) != b {
		panic(fmt.Sprintf("autograd.%s: %d targets for input of shape %v", op, len(targets), x.Shape()))
	}
	for i, t := range targets {
		if t < 0 || t >= c {
			panic(fmt.Sprintf("autograd.%s: target %d of sample %d is not a class index in [0, %d)", op, t, i, c))
		}
	}
	return b, c
}

func checkSmoothing(op string, eps float32) {
	if !(eps >= 0 && eps <= 1) {
		panic(fmt.Sprintf("autograd.%s: label smoothing %v is not in [0, 1]", op, eps))
	}
}

// SoftmaxCrossEntropy returns the cross-entropy between softmax(logits) and
// class indices: for each row i of the [B, C] logits,
//
//	loss_i = (1−ε)·(−log p_i[t_i]) + ε/C · Σ_c −log p_i[c],  p_i = softmax(logits_i)
//
// where ε is the label smoothing (0 for none), exactly as PyTorch's
// cross_entropy with label_smoothing. Log-softmax and NLL are fused: each row
// takes one max pass and one exp pass, the result stays exact for logits of
// any magnitude (±1e4 gives 0 or 1e4, not Inf or NaN), and the gradient
// (softmax − target distribution)·scale is formed directly from the
// probabilities kept by the forward pass. The mean reduction divides by B.
// It panics when a target is not in [0, C).
func SoftmaxCrossEntropy(logits *Var, targets []int, smoothing float32, r Reduction) *Var {
	const op = "SoftmaxCrossEntropy"
	b, c := checkClasses(op, logits.value, targets)
	checkSmoothing(op, smoothing)
	return softmaxCE(op, logits, targets, nil, smoothing, r, b, c)
}

// SoftmaxCrossEntropyProbs returns the cross-entropy between softmax(logits)
// and a target distribution of the same [B, C] shape (one-hot rows or class
// probabilities): loss_i = Σ_c −q_i[c]·log p_i[c] with
// q = (1−ε)·target + ε/C, as PyTorch's cross_entropy with probability
// targets. The targets receive no gradient; classes whose target weight is
// zero contribute nothing (even where p is 0). The mean reduction divides by
// B. It panics when the shapes differ.
func SoftmaxCrossEntropyProbs(logits *Var, target *tensor.Tensor, smoothing float32, r Reduction) *Var {
	const op = "SoftmaxCrossEntropyProbs"
	if logits.value.Rank() != 2 || logits.value.Dim(1) == 0 || !tensor.SameShape(logits.value, target) {
		panic(fmt.Sprintf("autograd.%s: input shape %v and target shape %v must be the same [batch, classes]", op, logits.value.Shape(), target.Shape()))
	}
	checkSmoothing(op, smoothing)
	return softmaxCE(op, logits, nil, target.Data(), smoothing, r, logits.value.Dim(0), logits.value.Dim(1))
}

// ceBlock is the number of rows softmaxCE handles at a time.
const ceBlock = 32

// ceParallelWork is the size (rows × classes) from which softmaxCE and
// its backward split their rows across the worker pool.
const ceParallelWork = 1 << 15

// softmaxCE implements both cross-entropy variants: targets holds class
// indices, or q holds target distributions.
func softmaxCE(op string, logits *Var, targets []int, q []float32, eps float32, r Reduction, b, c int) *Var {
	checkReduction(op, r)
	shape := logits.value.Shape() // [b, c]; its subslices avoid allocating shapes
	out := wrap(lossOut(r, shape[:1], logits), logits)
	// probs receives x − max per row, then exp of that in one vectorised
	// pass, then the softmax once normalised (when a gradient is needed).
	// Under an arena the buffer lives until the next Reset, past backward.
	probs := alloc(shape, logits)
	ce := ceRows{x: logits.value.Data(), p: probs.Data(), targets: targets, q: q, eps: eps, c: c, keep: out.requiresGrad}
	// Each row's loss goes to losses; the total is summed in row order
	// afterwards, so that it does not depend on how the rows were split.
	losses := out.value.Data()
	if r != ReduceNone {
		losses = alloc(shape[:1], logits).Data()
	}
	ce.losses = losses
	blocks := (b + ceBlock - 1) / ceBlock
	if b*c < ceParallelWork || blocks < 2 {
		ce.run(0, b)
	} else {
		t := ceTasks.Get().(*ceTask)
		t.rows, t.b = ce, b
		parallel.For(blocks, 1, t.fwd)
		t.rows = ceRows{}
		ceTasks.Put(t)
	}
	var total float64
	for _, l := range losses[:b] {
		total += float64(l)
	}
	finish(out.value, r, total, b)
	if !out.requiresGrad {
		return out
	}
	if sv := out.recordFn(op, softmaxCEBackward, logits); sv != nil {
		sv.t[0], sv.ints, sv.f32s, sv.f, sv.i[0] = probs, targets, q, eps, int(r)
	}
	return out
}

// ceTask carries a split softmaxCE or softmaxCEBackward to the workers;
// its funcs are bound once, when it is first made, so that a split call
// allocates nothing.
type ceTask struct {
	rows     ceRows
	b        int      // rows of the forward
	u        upstream // the backward's upstream gradient
	fwd, bwd func(lo, hi int)
}

var ceTasks = sync.Pool{New: func() any {
	t := new(ceTask)
	t.fwd = func(lo, hi int) { t.rows.run(lo*ceBlock, min(hi*ceBlock, t.b)) }
	t.bwd = func(lo, hi int) {
		r := &t.rows
		ceGradRows(r.p, r.targets, r.q, r.eps, t.u, r.c, lo, hi)
	}
	return t
}}

// ceRows is the work of softmaxCE over the logits x [b, c]: each row's
// loss into losses and its exponentials (normalised when keep) into p.
type ceRows struct {
	x, p, q, losses []float32
	targets         []int
	eps             float32
	c               int
	keep            bool
}

// run computes rows [lo, hi).
func (ce *ceRows) run(lo, hi int) {
	x, pd, q, targets, eps, c := ce.x, ce.p, ce.q, ce.targets, ce.eps, ce.c
	fc := float32(c)
	// Rows go in blocks so that the per-row maxima and gaps live on the
	// stack and each block's exponentials take one vectorised call.
	var maxes, gaps [ceBlock]float32
	for b0 := lo; b0 < hi; b0 += ceBlock {
		b1 := min(b0+ceBlock, hi)
		for i := b0; i < b1; i++ {
			row := x[i*c : (i+1)*c]
			e := pd[i*c : (i+1)*c]
			m := row[0]
			for _, v := range row[1:] {
				m = max(m, v)
			}
			// gap = Σ_j (m − x_j), so that Σ_j −log p_j = gap + C·log s.
			var gap float32
			for j, v := range row {
				e[j] = v - m
				gap -= e[j]
			}
			maxes[i-b0], gaps[i-b0] = m, gap
		}
		blk := pd[b0*c : b1*c]
		kernel.Exp(blk, blk)
		for i := b0; i < b1; i++ {
			row := x[i*c : (i+1)*c]
			e := pd[i*c : (i+1)*c]
			m := maxes[i-b0]
			var s float32
			for _, v := range e {
				s += v
			}
			logS := math32.Log(s)
			var l float32
			if q == nil {
				// −log p_t = (m − x_t) + log s: no cancellation for large
				// logits.
				l = (m - row[targets[i]]) + logS
				if eps != 0 {
					l = (1-eps)*l + eps/fc*(gaps[i-b0]+fc*logS)
				}
			} else {
				qr := q[i*c : (i+1)*c]
				for j, w := range qr {
					if eps != 0 {
						w = (1-eps)*w + eps/fc
					}
					if w != 0 {
						l += w * ((m - row[j]) + logS)
					}
				}
			}
			ce.losses[i] = l
			if ce.keep {
				inv := 1 / s
				for j := range e {
					e[j] *= inv
				}
			}
		}
	}
}

// softmaxCEBackward is softmaxCE's backward. The probabilities are the
// op's own buffer and backward runs once, so the gradient is formed in
// place.
func softmaxCEBackward(n *node, g *tensor.Tensor) []*tensor.Tensor {
	probs, targets, q, eps, r := n.saved.t[0], n.saved.ints, n.saved.f32s, n.saved.f, Reduction(n.saved.i[0])
	b, c := probs.Dim(0), probs.Dim(1)
	pd := probs.Data()
	u := newUpstream(g, r, b)
	if b*c < ceParallelWork {
		ceGradRows(pd, targets, q, eps, u, c, 0, b)
	} else {
		t := ceTasks.Get().(*ceTask)
		t.rows = ceRows{p: pd, targets: targets, q: q, eps: eps, c: c}
		t.u = u
		parallel.For(b, ceBlock, t.bwd)
		t.rows, t.u = ceRows{}, upstream{}
		ceTasks.Put(t)
	}
	grads := n.saved.out(1)
	grads[0] = probs
	return grads
}

// ceGradRows turns rows [lo, hi) of the probabilities pd [b, c] into the
// gradient of softmaxCE's logits.
func ceGradRows(pd []float32, targets []int, q []float32, eps float32, u upstream, c, lo, hi int) {
	off := eps / float32(c)
	for i := lo; i < hi; i++ {
		gi := u.at(i)
		p := pd[i*c : (i+1)*c]
		if q == nil {
			for j := range p {
				p[j] = (p[j] - off) * gi
			}
			p[targets[i]] -= (1 - eps) * gi
			continue
		}
		// d/dx_j Σ_c −q_c·log p_c = p_j·Σq − q_j
		qr := q[i*c : (i+1)*c]
		var sq float32
		for _, w := range qr {
			sq += w
		}
		sq = (1-eps)*sq + eps
		for j := range p {
			p[j] = (p[j]*sq - ((1-eps)*qr[j] + off)) * gi
		}
	}
}

// NLL returns the negative log-likelihood of class indices under [B, C]
// log-probabilities (for example the output of LogSoftmax):
// loss_i = −logProbs[i, t_i], as PyTorch's nll_loss. The mean reduction
// divides by B. It panics when a target is not in [0, C).
func NLL(logProbs *Var, targets []int, r Reduction) *Var {
	const op = "NLL"
	b, c := checkClasses(op, logProbs.value, targets)
	checkReduction(op, r)
	out := wrap(lossOut(r, logProbs.value.Shape()[:1], logProbs), logProbs)
	x := logProbs.value.Data()
	od := out.value.Data()
	var total float64
	for i, t := range targets {
		l := -x[i*c+t]
		if r == ReduceNone {
			od[i] = l
		}
		total += float64(l)
	}
	finish(out.value, r, total, b)
	if !out.requiresGrad {
		return out
	}
	return out.record(op, func(g *tensor.Tensor) []*tensor.Tensor {
		u := newUpstream(g, r, b)
		gx := tensor.Zeros(b, c)
		gd := gx.Data()
		for i, t := range targets {
			gd[i*c+t] = -u.at(i)
		}
		return []*tensor.Tensor{gx}
	}, logProbs)
}

// sameElements reports whether a and b hold the same number of elements
// laid out alike: equal shapes, or shapes that differ only by axes of size
// one ([B] and [B, 1]).
func sameElements(a, b []int) bool {
	if tensor.EqualShape(a, b) {
		return true
	}
	i, j := 0, 0
	for {
		for i < len(a) && a[i] == 1 {
			i++
		}
		for j < len(b) && b[j] == 1 {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if a[i] != b[j] {
			return false
		}
		i++
		j++
	}
}

func checkPair(op string, pred, target *tensor.Tensor) {
	if !sameElements(pred.Shape(), target.Shape()) {
		panic(fmt.Sprintf("autograd.%s: prediction shape %v and target shape %v differ", op, pred.Shape(), target.Shape()))
	}
}

// elementLoss is the kernel of an element-wise loss: it writes each
// element's loss into l (when l is not nil) and its derivative with respect
// to the prediction into d (when d is not nil), and returns the sum of the
// losses.
type elementLoss func(p, t, l, d []float32) float64

// elementwise runs an element-wise loss of the prediction and a target of
// the same elements. With targetGrad the target receives the negated
// gradient (losses of p − t); otherwise it receives none.
func elementwise(op string, pred *Var, target *Var, r Reduction, targetGrad bool, k elementLoss) *Var {
	checkPair(op, pred.value, target.value)
	checkReduction(op, r)
	inputs := []*Var{pred}
	if targetGrad {
		inputs = append(inputs, target)
	}
	out := wrap(lossOut(r, pred.value.Shape(), pred, target), inputs...)
	var l []float32
	if r == ReduceNone {
		l = out.value.Data()
	}
	var deriv *tensor.Tensor
	var d []float32
	if out.requiresGrad {
		deriv = tensor.Zeros(pred.value.Shape()...)
		d = deriv.Data()
	}
	n := pred.value.Size()
	total := k(pred.value.Data(), target.value.Data(), l, d)
	finish(out.value, r, total, n)
	if !out.requiresGrad {
		return out
	}
	tshape := target.value.Shape()
	return out.record(op, func(g *tensor.Tensor) []*tensor.Tensor {
		u := newUpstream(g, r, n)
		if u.g == nil {
			for i := range d {
				d[i] *= u.scale
			}
		} else {
			for i := range d {
				d[i] *= u.g[i]
			}
		}
		grads := []*tensor.Tensor{nil, nil}
		if pred.requiresGrad {
			grads[0] = deriv
		}
		if targetGrad && target.requiresGrad {
			grads[1] = tensor.Neg(deriv).Reshape(tshape...)
		}
		return grads
	}, inputs...)
}

// MSE returns the squared error (p − t)² between prediction and target, as
// PyTorch's mse_loss. Both may require gradients. The shapes must match,
// except that axes of size one are ignored ([B] against [B, 1]); the mean
// reduction divides by the number of elements, and ReduceNone returns a
// tensor shaped like pred.
func MSE(pred, target *Var, r Reduction) *Var {
	return elementwise("MSE", pred, target, r, true, func(p, t, l, d []float32) float64 {
		t = t[:len(p)]
		var s float64
		for i, pv := range p {
			e := pv - t[i]
			v := e * e
			s += float64(v)
			if l != nil {
				l[i] = v
			}
			if d != nil {
				d[i] = 2 * e
			}
		}
		return s
	})
}

// L1 returns the absolute error |p − t| between prediction and target, as
// PyTorch's l1_loss; its gradient at p = t is 0. Shapes and reductions are
// as for MSE.
func L1(pred, target *Var, r Reduction) *Var {
	return elementwise("L1", pred, target, r, true, func(p, t, l, d []float32) float64 {
		t = t[:len(p)]
		var s float64
		for i, pv := range p {
			e := pv - t[i]
			v := math32.Abs(e)
			s += float64(v)
			if l != nil {
				l[i] = v
			}
			if d != nil {
				switch {
				case e > 0:
					d[i] = 1
				case e < 0:
					d[i] = -1
				}
			}
		}
		return s
	})
}

// Huber returns the Huber loss of e = p − t, as PyTorch's huber_loss:
// ½e² where |e| ≤ delta and delta·(|e| − ½delta) elsewhere. The loss and its
// gradient are continuous at |e| = delta. It panics unless delta > 0.
// Shapes and reductions are as for MSE.
func Huber(pred, target *Var, delta float32, r Reduction) *Var {
	if !(delta > 0) {
		panic(fmt.Sprintf("autograd.Huber: delta %v must be positive", delta))
	}
	return elementwise("Huber", pred, target, r, true, func(p, t, l, d []float32) float64 {
		return huber(p, t, l, d, delta, 1)
	})
}

// SmoothL1 returns PyTorch's smooth_l1_loss of e = p − t: ½e²/beta where
// |e| < beta and |e| − ½beta elsewhere, which is Huber divided by beta. With
// beta = 0 it is L1. Shapes and reductions are as for MSE.
func SmoothL1(pred, target *Var, beta float32, r Reduction) *Var {
	if !(beta >= 0) {
		panic(fmt.Sprintf("autograd.SmoothL1: beta %v must not be negative", beta))
	}
	if beta == 0 {
		return L1(pred, target, r)
	}
	return elementwise("SmoothL1", pred, target, r, true, func(p, t, l, d []float32) float64 {
		return huber(p, t, l, d, beta, 1/beta)
	})
}

// huber is the kernel of Huber (scale 1) and SmoothL1 (scale 1/beta).
func huber(p, t, l, d []float32, delta, scale float32) float64 {
	t = t[:len(p)]
	var s float64
	for i, pv := range p {
		e := pv - t[i]
		a := math32.Abs(e)
		var v, dv float32
		if a <= delta {
			v, dv = 0.5*e*e, e
		} else {
			v = delta * (a - 0.5*delta)
			dv = delta
			if e < 0 {
				dv = -delta
			}
		}
		v *= scale
		s += float64(v)
		if l != nil {
			l[i] = v
		}
		if d != nil {
			d[i] = dv * scale
		}
	}
	return s
}

// bceLogFloor is the floor PyTorch's binary_cross_entropy puts under each
// log so that probabilities of exactly 0 or 1 give a finite loss.
const bceLogFloor = -100

// BinaryCrossEntropy returns −(t·log p + (1−t)·log(1−p)) for probabilities
// p (for example the output of Sigmoid) and targets t in [0, 1], as
// PyTorch's binary_cross_entropy: each log is clamped to at least −100, so p
// of exactly 0 or 1 gives a finite loss, and the gradient
// (p − t)/max(p·(1−p), 1e-12) stays finite too. Prefer BCEWithLogits on
// logits, which is more accurate. The targets receive no gradient. It
// panics when a probability lies outside [0, 1] (NaN propagates). Shapes and
// reductions are as for MSE.
func BinaryCrossEntropy(probs *Var, target *tensor.Tensor, r Reduction) *Var {
	const op = "BinaryCrossEntropy"
	for i, v := range probs.value.Data() {
		if v < 0 || v > 1 {
			panic(fmt.Sprintf("autograd.%s: input element %d is %v, not a probability in [0, 1]", op, i, v))
		}
	}
	return elementwise(op, probs, Constant(target), r, false, func(p, t, l, d []float32) float64 {
		t = t[:len(p)]
		var s float64
		for i, pv := range p {
			y := t[i]
			lp := max(math32.Log(pv), bceLogFloor)
			lq := max(math32.Log(1-pv), bceLogFloor)
			v := -(y*lp + (1-y)*lq)
			s += float64(v)
			if l != nil {
				l[i] = v
			}
			if d != nil {
				d[i] = (pv - y) / max(pv*(1-pv), 1e-12)
			}
		}
		return s
	})
}

// BCEWithLogits returns the binary cross-entropy of sigmoid(x) against
// targets t for logits x, as PyTorch's binary_cross_entropy_with_logits,
// computed stably as
//
//	(1−t)·x + w·(log(1+e^−|x|) + max(−x, 0)),  w = 1 + (posWeight−1)·t
//
// which is max(x,0) − x·t + log(1+e^−|x|) without posWeight, and stays exact
// for logits of any magnitude. posWeight (nil for none) weighs the positive
// term; it holds one value, or one per entry of x's last axis (one per
// class of a multi-label output). The targets receive no gradient. Shapes
// and reductions are as for MSE.
func BCEWithLogits(logits *Var, target *tensor.Tensor, posWeight *tensor.Tensor, r Reduction) *Var {
	const op = "BCEWithLogits"
	var pw []float32
	if posWeight != nil {
		pw = posWeight.Data()
		shape := logits.value.Shape()
		last := 1
		if len(shape) > 0 {
			last = shape[len(shape)-1]
		}
		if len(pw) != 1 && len(pw) != last {
			panic(fmt.Sprintf("autograd.%s: pos_weight shape %v matches neither one value nor the last axis of input shape %v", op, posWeight.Shape(), shape))
		}
	}
	return elementwise(op, logits, Constant(target), r, false, func(x, t, l, d []float32) float64 {
		t = t[:len(x)]
		var s float64
		for i, xv := range x {
			y := t[i]
			w := float32(1)
			if pw != nil {
				w = 1 + (pw[i%len(pw)]-1)*y
			}
			// e^−|x| and σ(−x) without overflow.
			ea := math32.Exp(-math32.Abs(xv))
			v := (1-y)*xv + w*(math32.Log1p(ea)+max(-xv, 0))
			s += float64(v)
			if l != nil {
				l[i] = v
			}
			if d != nil {
				var sigNeg float32 // σ(−x)
				if xv >= 0 {
					sigNeg = ea / (1 + ea)
				} else {
					sigNeg = 1 / (1 + ea)
				}
				d[i] = (1 - y) - w*sigNeg
			}
		}
		return s
	})
}
