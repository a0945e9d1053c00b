package data

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Batch is one mini-batch produced by a Loader.
//
// A Batch and its tensors live in buffers that the Loader reuses: they are
// valid only until the loop asks for the next batch (or the loop ends).
// Clone what you need to keep (b.X.Clone(), append([]int(nil), b.Labels...)).
type Batch struct {
	// X holds the features, shape [B, feature shape...].
	X *tensor.Tensor
	// Y holds the targets as float32: shape [B] for class ids, [B, k] for
	// k targets per example.
	Y *tensor.Tensor
	// Labels holds the class label of each row (see LabelOf), for metrics.
	Labels []int
	// Indices holds the dataset index of each row.
	Indices []int
	// Index is the position of the batch in its epoch, from 0.
	Index int
	// Epoch is the epoch the batch belongs to, from 0.
	Epoch int

	buf *batchBuf
}

// Size returns the number of rows in the batch.
func (b *Batch) Size() int { return len(b.Labels) }

// BatchTransform changes a batch in place before the loop sees it, e.g.
// augmentation or standardization. r is the Loader's transform generator,
// seeded per epoch, so runs are reproducible. With prefetch, Apply runs on
// the background goroutine, one batch at a time.
type BatchTransform interface {
	Apply(b *Batch, r *rand.Rand)
}

// TransformFunc adapts a function to the BatchTransform interface.
type TransformFunc func(b *Batch, r *rand.Rand)

// Apply calls f(b, r).
func (f TransformFunc) Apply(b *Batch, r *rand.Rand) { f(b, r) }

// Compose returns a transform that applies ts in order.
func Compose(ts ...BatchTransform) BatchTransform {
	return TransformFunc(func(b *Batch, r *rand.Rand) {
		for _, t := range ts {
			t.Apply(b, r)
		}
	})
}

// Option configures a Loader.
type Option func(*Loader)

// Shuffle makes the Loader visit examples in a new random order each epoch.
// The order of epoch e depends only on seed and e, so runs are
// reproducible and a resumed run (see SetEpoch) sees the same orders.
func Shuffle(seed uint64) Option {
	return func(l *Loader) { l.shuffle, l.seed = true, seed }
}

// DropLast makes the Loader skip the last batch of an epoch when it would
// hold fewer than the batch size.
func DropLast() Option { return func(l *Loader) { l.dropLast = true } }

// Prefetch makes the Loader assemble up to n batches ahead on a background
// goroutine while the loop works on the current one. The Loader then
// cycles through n+1 batch buffers. n <= 0 means no prefetch.
func Prefetch(n int) Option { return func(l *Loader) { l.prefetch = max(n, 0) } }

// WithTransform makes the Loader apply t to every batch, with a random
// generator seeded from seed and the epoch number.
func WithTransform(t BatchTransform, seed uint64) Option {
	return func(l *Loader) { l.transform, l.tseed = t, seed }
}

// Loader iterates over a Dataset in mini-batches:
//
//	loader := data.NewLoader(train, 64, data.Shuffle(1), data.Prefetch(2))
//	for epoch := range 10 {
//		for b := range loader.All() {
//			// b.X [64, 1, 28, 28], b.Y [64], b.Labels []int
//		}
//	}
//
// Each call of All (or XY) runs one epoch. Batches are assembled by copying
// rows into buffers that the Loader owns and reuses, so an epoch allocates
// nothing per example or per batch; a batch is valid only until the next
// one is requested. Breaking out of the loop early is fine: the background
// goroutine, if any, is stopped before the loop statement returns, and
// also when the loop body panics.
//
// A Loader runs one epoch at a time; it panics if All is called while an
// iteration over it is still running.
type Loader struct {
	ds        Dataset
	bs        int
	shuffle   bool
	seed      uint64
	dropLast  bool
	prefetch  int
	transform BatchTransform
	tseed     uint64

	fshape, tshape []int
	fsize, tsize   int
	td             *TensorDataset // fast path: rows copied straight from td
	rows           []int          // td rows making up ds; nil means all in order

	epoch   int
	perm    []int
	pcg     rand.PCG
	rng     *rand.Rand
	tpcg    rand.PCG
	trng    *rand.Rand
	bufs    []*batchBuf
	running atomic.Bool
	// producers counts live prefetch goroutines (0 or 1); tests read it to
	// check that none outlives its loop.
	producers atomic.Int32
}

// NewLoader returns a Loader over ds with the given batch size. It panics
// if batchSize < 1.
func NewLoader(ds Dataset, batchSize int, opts ...Option) *Loader {
	if batchSize < 1 {
		panic(fmt.Sprintf("data.NewLoader: batch size %d, want >= 1", batchSize))
	}
	l := &Loader{ds: ds, bs: batchSize}
	for _, o := range opts {
		o(l)
	}
	l.fshape = append([]int(nil), ds.FeatureShape()...)
	l.tshape = append([]int(nil), ds.TargetShape()...)
	l.fsize, l.tsize = size(l.fshape), size(l.tshape)
	l.td, l.rows, _ = flatten(ds)
	l.rng = rand.New(&l.pcg)
	l.trng = rand.New(&l.tpcg)
	return l
}

// Dataset returns the dataset the Loader reads.
func (l *Loader) Dataset() Dataset { return l.ds }

// BatchSize returns the batch size.
func (l *Loader) BatchSize() int { return l.bs }

// NumExamples returns the number of examples an epoch visits (fewer than
// the dataset's length when DropLast drops a partial batch).
func (l *Loader) NumExamples() int {
	n := l.ds.Len()
	if l.dropLast {
		return n / l.bs * l.bs
	}
	return n
}

// NumBatches returns the number of batches per epoch.
func (l *Loader) NumBatches() int {
	n := l.ds.Len()
	if l.dropLast {
		return n / l.bs
	}
	if n == 0 {
		return 0
	}
	return (n-1)/l.bs + 1 // (n + bs − 1) / bs would overflow for a huge batch size
}

// Len returns the number of batches per epoch, like NumBatches (and like
// len() of a PyTorch DataLoader); handy for progress bars.
func (l *Loader) Len() int { return l.NumBatches() }

// Epoch returns the number of the next epoch All will run.
func (l *Loader) Epoch() int { return l.epoch }

// SetEpoch sets the number of the next epoch, e.g. to resume a run with the
// same shuffling and augmentation it would have had.
func (l *Loader) SetEpoch(e int) { l.epoch = e }

// XY iterates over one epoch like All, yielding each batch's features and
// targets:
//
//	for x, y := range loader.XY() { ... }
func (l *Loader) XY() iter.Seq2[*tensor.Tensor, *tensor.Tensor] {
	return func(yield func(x, y *tensor.Tensor) bool) {
		for b := range l.All() {
			if !yield(b.X, b.Y) {
				return
			}
		}
	}
}

// All iterates over one epoch, yielding each batch in turn. See Loader for
// how long a batch stays valid.
func (l *Loader) All() iter.Seq[*Batch] {
	return func(yield func(*Batch) bool) {
		if !l.running.CompareAndSwap(false, true) {
			panic("data.Loader.All: an iteration over this Loader is already running")
		}
		defer l.running.Store(false)
		e := l.startEpoch()
		nb := l.NumBatches()
		if l.prefetch == 0 {
			buf := l.buffer(0)
			for k := range nb {
				if !yield(l.fill(buf, k, e)) {
					return
				}
			}
			return
		}
		l.runPrefetch(nb, e, yield)
	}
}

// runPrefetch runs one epoch with a producer goroutine filling a ring of
// prefetch+1 buffers. Buffers pass from producer to consumer through ready
// and back through free, so each is touched by one goroutine at a time.
func (l *Loader) runPrefetch(nb, e int, yield func(*Batch) bool) {
	nbuf := l.prefetch + 1
	free := make(chan *batchBuf, nbuf)
	ready := make(chan *Batch, nbuf)
	for i := range nbuf {
		free <- l.buffer(i)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var perr any
	wg.Add(1)
	l.producers.Add(1)
	go func() {
		defer wg.Done()
		defer l.producers.Add(-1)
		defer close(ready)
		defer func() {
			if r := recover(); r != nil {
				perr = r
			}
		}()
		for k := range nb {
			var buf *batchBuf
			select {
			case buf = <-free:
			case <-done:
				return
			}
			b := l.fill(buf, k, e)
			select {
			case ready <- b:
			case <-done:
				return
			}
		}
	}()
	// stop ends the producer and waits for it. It runs when the loop
	// breaks, when the epoch ends and, deferred, when the loop body panics,
	// so the producer never outlives this call.
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(done)
			wg.Wait()
		}
	}
	defer stop()
	var prev *batchBuf
	for b := range ready {
		if prev != nil {
			free <- prev // never blocks: free holds all nbuf buffers at most
		}
		prev = b.buf
		if !yield(b) {
			return
		}
	}
	stop()
	if perr != nil {
		panic(perr)
	}
}

// startEpoch advances the epoch counter, draws the epoch's order and seeds
// the transform generator; it returns the epoch number.
func (l *Loader) startEpoch() int {
	e := l.epoch
	l.epoch++
	if l.shuffle {
		n := l.ds.Len()
		if cap(l.perm) < n {
			l.perm = make([]int, n)
		}
		l.perm = l.perm[:n]
		for i := range l.perm {
			l.perm[i] = i
		}
		l.pcg.Seed(l.seed, uint64(e))
		l.rng.Shuffle(n, func(i, j int) { l.perm[i], l.perm[j] = l.perm[j], l.perm[i] })
	}
	if l.transform != nil {
		l.tpcg.Seed(l.tseed, uint64(e)^0x9e3779b97f4a7c15)
	}
	return e
}

// batchBuf is one reusable batch: storage plus the tensor headers over it,
// for a full batch and for the (single possible) partial last batch.
type batchBuf struct {
	x, y    []float32
	labels  []int
	indices []int
	full    Batch
	part    Batch
}

// buffer returns ring buffer i, allocating it the first time.
func (l *Loader) buffer(i int) *batchBuf {
	for len(l.bufs) <= i {
		l.bufs = append(l.bufs, nil)
	}
	if l.bufs[i] != nil {
		return l.bufs[i]
	}
	// A batch never holds more rows than the dataset has, whatever the
	// batch size asks for.
	rows := max(min(l.bs, l.ds.Len()), 1)
	b := &batchBuf{
		x:       make([]float32, rows*l.fsize),
		y:       make([]float32, rows*l.tsize),
		labels:  make([]int, rows),
		indices: make([]int, rows),
	}
	b.full = l.header(b, rows)
	l.bufs[i] = b
	return b
}

// header builds a Batch of m rows over b's storage.
func (l *Loader) header(b *batchBuf, m int) Batch {
	xs := append([]int{m}, l.fshape...)
	ys := append([]int{m}, l.tshape...)
	return Batch{
		X:       tensor.New(b.x[:m*l.fsize], xs...),
		Y:       tensor.New(b.y[:m*l.tsize], ys...),
		Labels:  b.labels[:m],
		Indices: b.indices[:m],
		buf:     b,
	}
}

// fill assembles batch k of epoch e into buf and returns it.
func (l *Loader) fill(buf *batchBuf, k, e int) *Batch {
	n := l.ds.Len()
	start := k * l.bs
	end := min(start+l.bs, n)
	m := end - start
	var b *Batch
	if m == l.bs {
		b = &buf.full
	} else {
		if buf.part.X == nil || buf.part.Size() != m {
			buf.part = l.header(buf, m)
		}
		b = &buf.part
	}
	b.Index, b.Epoch = k, e
	idx := b.Indices
	for j := range idx {
		if l.shuffle {
			idx[j] = l.perm[start+j]
		} else {
			idx[j] = start + j
		}
	}
	fs, ts := l.fsize, l.tsize
	x, y := b.X.Data(), b.Y.Data()
	if td := l.td; td != nil {
		src, tsrc := td.x.Data(), td.y.Data()
		if l.rows == nil && !l.shuffle {
			// Contiguous rows: one copy each.
			copy(x, src[start*fs:end*fs])
			copy(y, tsrc[start*ts:end*ts])
			copy(b.Labels, td.labels[start:end])
		} else {
			for j, i := range idx {
				if l.rows != nil {
					i = l.rows[i]
				}
				copy(x[j*fs:(j+1)*fs], src[i*fs:(i+1)*fs])
				copy(y[j*ts:(j+1)*ts], tsrc[i*ts:(i+1)*ts])
				b.Labels[j] = td.labels[i]
			}
		}
	} else {
		for j, i := range idx {
			b.Labels[j] = l.ds.Example(i, x[j*fs:(j+1)*fs], y[j*ts:(j+1)*ts])
		}
	}
	if l.transform != nil {
		l.transform.Apply(b, l.trng)
	}
	return b
}
