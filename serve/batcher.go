package serve

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

var (
	errQueueFull = errors.New("the queue is full; try again later")
	errClosed    = errors.New("the server is shutting down")
)

// job is one request's examples on their way through a batch.
type job struct {
	ctx context.Context
	x   []float32 // n × features values
	n   int
	out []float32 // n × outputs values, written by the worker
	err error     // set by the worker instead of out
	// done receives one value when out or err is set (or the job was
	// dropped because its context ended).
	done chan struct{}
}

// batcher gathers queued jobs into batches and runs them on a fixed set
// of workers. It is TensorFlow's basic batch scheduler: a batch is full at
// maxBatch examples or when maxDelay has passed since its first job, and
// the queue holds at most maxQueue jobs.
type batcher struct {
	model             nn.Module
	shape             []int // of one example
	features, outputs int
	maxBatch          int
	maxDelay          time.Duration
	mu                sync.RWMutex // guards closed against submit
	closed            bool
	queue             chan *job
	work              chan *[]*job
	pending           atomic.Int64 // jobs submitted, not yet handed to a worker
	running           atomic.Int64 // batches being run
	wg                sync.WaitGroup
	observe           func(examples int) // records a batch's size
	batches           sync.Pool          // of *[]*job
}

func newBatcher(model nn.Module, shape []int, features, outputs int, cfg Config, observe func(int)) *batcher {
	b := &batcher{
		model: model, shape: shape, features: features, outputs: outputs,
		maxBatch: cfg.MaxBatch, maxDelay: cfg.MaxDelay,
		queue:   make(chan *job, cfg.MaxQueue),
		work:    make(chan *[]*job),
		observe: observe,
	}
	b.batches.New = func() any { s := make([]*job, 0, 16); return &s }
	b.wg.Add(1 + cfg.MaxConcurrent)
	go b.collect()
	for range cfg.MaxConcurrent {
		go b.worker()
	}
	return b
}

// submit queues j, or fails at once when the queue is full or closed.
func (b *batcher) submit(j *job) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errClosed
	}
	b.pending.Add(1)
	select {
	case b.queue <- j:
		return nil
	default:
		b.pending.Add(-1)
		return errQueueFull
	}
}

// close stops submit; the jobs already queued still run. It returns
// whether this call closed the batcher.
func (b *batcher) close() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.closed = true
	close(b.queue)
	return true
}

// collect forms batches from the queue and hands them to the workers
// until the queue is closed and empty. While every worker is busy it goes
// on adding queued jobs to the batch it holds, so batches grow with the
// load and no job waits for a timer when a worker could take it.
func (b *batcher) collect() {
	defer b.wg.Done()
	defer close(b.work)
	var carry *job // a job that did not fit in the previous batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		first := carry
		carry = nil
		if first == nil {
			j, ok := <-b.queue
			if !ok {
				return
			}
			first = j
		}
		bp := b.batches.Get().(*[]*job)
		batch := append((*bp)[:0], first)
		size := first.n
		closed := false
		// add takes j into the batch if it fits and reports whether the
		// batch can take more.
		add := func(j *job, ok bool) bool {
			switch {
			case !ok:
				closed = true
				return false
			case size+j.n > b.maxBatch:
				carry = j
				return false
			}
			batch = append(batch, j)
			size += j.n
			return size < b.maxBatch
		}
		if b.maxDelay > 0 && size < b.maxBatch {
			timer.Reset(b.maxDelay)
		wait:
			for {
				select {
				case j, ok := <-b.queue:
					if !add(j, ok) {
						break wait
					}
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		} else if size < b.maxBatch && len(b.queue) < b.maxBatch-size {
			// Let the goroutines that are ready to run (handlers that
			// have read a request) queue it before the batch leaves: under
			// load batches grow at the cost of one pass of the scheduler,
			// and with nothing else to run this returns at once.
			runtime.Gosched()
		}
	drain:
		for size < b.maxBatch && !closed && carry == nil {
			select {
			case j, ok := <-b.queue:
				if !add(j, ok) {
					break drain
				}
			default:
				break drain
			}
		}
		// Hand the batch over, taking in more jobs while no worker is
		// free.
	send:
		for {
			if size >= b.maxBatch || closed || carry != nil {
				*bp = batch
				b.work <- bp
				break
			}
			*bp = batch
			select {
			case b.work <- bp:
				break send
			case j, ok := <-b.queue:
				add(j, ok)
			}
		}
		b.pending.Add(-int64(len(batch)))
		if closed && carry == nil {
			return
		}
	}
}

// worker runs batches on its own arena.
func (b *batcher) worker() {
	defer b.wg.Done()
	arena := autograd.NewArena()
	var in input
	for bp := range b.work {
		b.running.Add(1)
		b.run(*bp, arena, &in)
		b.running.Add(-1)
		clear(*bp)
		b.batches.Put(bp)
	}
}

// input is a worker's input buffer and the tensor over it, kept across
// batches.
type input struct {
	buf []float32
	t   *tensor.Tensor
}

// tensor returns x as a tensor [rows, shape...], reusing the previous
// one when it wraps the same values.
func (in *input) tensor(x []float32, rows int, shape []int) *tensor.Tensor {
	if t := in.t; t != nil && t.Dim(0) == rows && t.Size() == len(x) && &t.Data()[0] == &x[0] {
		return t
	}
	dims := make([]int, 0, 1+len(shape))
	in.t = tensor.New(x, append(append(dims, rows), shape...)...)
	return in.t
}

// run runs one batch: it drops the jobs whose context has ended, runs the
// others as one input to the model and gives each its rows of the output.
func (b *batcher) run(batch []*job, arena *autograd.Arena, in *input) {
	live := batch[:0]
	n := 0
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			j.done <- struct{}{}
			continue
		}
		live = append(live, j)
		n += j.n
	}
	if n == 0 {
		return
	}
	// One example runs as two equal rows: the GEMM kernel sums a lone
	// row in another order, and an answer should not depend on whether its
	// request shared a batch.
	rows := max(n, 2)
	var x []float32
	if len(live) == 1 && n > 1 {
		x = live[0].x
	} else {
		in.buf = grow(in.buf[:0], rows*b.features)
		off := 0
		for _, j := range live {
			off += copy(in.buf[off:], j.x)
		}
		if n == 1 {
			copy(in.buf[off:], live[0].x)
		}
		x = in.buf
	}
	xt := in.tensor(x, rows, b.shape)
	arena.Reset()
	y, err := forward(b.model, arena, xt)
	if err == nil && (y.Rank() < 1 || y.Dim(0) != rows || y.Size() != rows*b.outputs) {
		err = fmt.Errorf("the model turned input %v into output %v; want [%d, %d]", xt.Shape(), y.Shape(), rows, b.outputs)
	}
	b.observe(n)
	off := 0
	for _, j := range live {
		if err != nil {
			j.err = err
		} else {
			off += copy(j.out, y.Data()[off:off+j.n*b.outputs])
		}
		j.done <- struct{}{}
	}
}

// forward runs model on x in inference mode, turning a panic into an
// error.
func forward(model nn.Module, arena *autograd.Arena, x *tensor.Tensor) (y *tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			y, err = nil, fmt.Errorf("the model failed on input %v: %v", x.Shape(), r)
		}
	}()
	return model.Forward(arena.Input(x)).Value(), nil
}
