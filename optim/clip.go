package optim

import (
	"math"
	"sync"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/internal/parallel"
	"github.com/shoshin-ml/shoshin/nn"
)

// ClipGradNorm rescales the gradients of params, taken together as one
// vector, so that its Euclidean norm is at most maxNorm, and returns the
// norm before clipping (log it to spot exploding gradients). Like PyTorch's
// torch.nn.utils.clip_grad_norm_, when the norm n exceeds maxNorm every
// gradient is multiplied by maxNorm/(n+1e-6); otherwise nothing changes.
// Parameters without a gradient are ignored.
//
// The norm is accumulated in float64, so it neither overflows nor loses
// precision on large models. When it is not finite (a gradient holds Inf or
// NaN) the gradients are left untouched and the Inf or NaN norm is
// returned, so the caller can skip the step.
func ClipGradNorm(params []*nn.Param, maxNorm float32) float32 {
	j := getClipJob()
	defer putClipJob(j)
	total := 0
	for _, p := range params {
		if g := p.Grad(); g != nil {
			j.grads = append(j.grads, g.Data())
			total += g.Size()
		}
	}
	j.sums = append(j.sums[:0], make([]float64, len(j.grads))...)
	spread := total >= clipParallel && parallel.Workers() > 1 && len(j.grads) > 1
	if spread {
		parallel.For(len(j.grads), 1, j.sum)
	} else {
		j.sum(0, len(j.grads))
	}
	// The per-gradient sums are added in parameter order whatever the
	// split, so the norm has the same bits on any number of workers.
	var ss float64
	for _, s := range j.sums {
		ss += s
	}
	norm := math.Sqrt(ss)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return float32(norm)
	}
	if norm > float64(maxNorm) {
		j.scale = float32(float64(maxNorm) / (norm + 1e-6))
		if spread {
			parallel.For(len(j.grads), 1, j.mul)
		} else {
			j.mul(0, len(j.grads))
		}
	}
	return float32(norm)
}

// clipParallel is the number of gradient values from which ClipGradNorm
// spreads its two passes over the worker pool.
const clipParallel = 1 << 16

// clipJob is one ClipGradNorm call: the gradients, their sums of squares
// and the scale, with the chunk functions the pool calls bound once, so
// that a call allocates nothing once the pool holds a job.
type clipJob struct {
	grads    [][]float32
	sums     []float64
	scale    float32
	sum, mul func(lo, hi int)
}

// clipFree keeps one released job (a sync.Pool may drop it, and the
// next call would allocate).
var clipFree struct {
	sync.Mutex
	j *clipJob
}

func getClipJob() *clipJob {
	clipFree.Lock()
	j := clipFree.j
	clipFree.j = nil
	clipFree.Unlock()
	if j != nil {
		return j
	}
	return newClipJob()
}

// putClipJob drops the job's references to the gradients and keeps it
// for the next call.
func putClipJob(j *clipJob) {
	clear(j.grads)
	j.grads = j.grads[:0]
	clipFree.Lock()
	clipFree.j = j
	clipFree.Unlock()
}

func newClipJob() *clipJob {
	j := new(clipJob)
	j.sum = func(lo, hi int) {
		for i := lo; i < hi; i++ {
			j.sums[i] = sumSquares(j.grads[i])
		}
	}
	j.mul = func(lo, hi int) {
		for i := lo; i < hi; i++ {
			kernel.Scale(j.scale, j.grads[i])
		}
	}
	return j
}

// sumSquares returns Σ x² accumulated in float64, with four partial sums
// to shorten the dependency chain.
func sumSquares(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		a, b, c, d := float64(v[0]), float64(v[1]), float64(v[2]), float64(v[3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		a := float64(x[i])
		s0 += a * a
	}
	return (s0 + s1) + (s2 + s3)
}

// ClipGradValue clamps every gradient element of params into [−v, v], like
// PyTorch's torch.nn.utils.clip_grad_value_. NaN elements stay NaN. It
// panics if v is negative.
func ClipGradValue(params []*nn.Param, v float32) {
	if v < 0 {
		panic("optim.ClipGradValue: negative clip value")
	}
	for _, p := range params {
		g := p.Grad()
		if g == nil {
			continue
		}
		d := g.Data()
		for i, x := range d {
			if x > v {
				d[i] = v
			} else if x < -v {
				d[i] = -v
			}
		}
	}
}
