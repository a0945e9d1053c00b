package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// job is one For call shared by the caller and the helping workers: each
// participant takes chunk indices from next until none are left.
type job struct {
	fn     func(lo, hi int)
	n      int
	chunk  int
	next   atomic.Int64
	wg     sync.WaitGroup
	failed atomic.Pointer[panicValue]
}

type panicValue struct{ v any }

// run executes chunks until the job is exhausted. A panic in fn is recorded
// and re-raised on the calling goroutine by For.
func (j *job) run() {
	defer func() {
		if r := recover(); r != nil {
			j.failed.CompareAndSwap(nil, &panicValue{r})
		}
	}()
	for {
		c := int(j.next.Add(1) - 1)
		lo := c * j.chunk
		if lo >= j.n {
			return
		}
		j.fn(lo, min(lo+j.chunk, j.n))
	}
}

// pool is a fixed set of worker goroutines fed through a channel. Only the
// For call holding busy uses the pool, so one job record serves every call:
// a call allocates nothing.
type pool struct {
	size  int
	tasks chan *job
	job   job
}

func newPool(size int) *pool {
	p := &pool{size: size, tasks: make(chan *job, size)}
	for i := 1; i < size; i++ { // the caller is the size-th participant
		go func() {
			for {
				j, ok := p.next()
				if !ok {
					return
				}
				j.run()
				j.wg.Done()
			}
		}()
	}
	return p
}

// spinWait is how long an idle worker polls for the next job before it
// blocks.
const spinWait = 50 * time.Microsecond

// next returns the next job, or false once the pool is closed. It polls
// for up to spinWait before blocking: the loops of a training step come
// back to back, and a worker still polling takes the next job at once,
// where a blocked one waits for the caller to wake it.
func (p *pool) next() (*job, bool) {
	deadline := time.Now().Add(spinWait)
	for i := 1; ; i++ {
		select {
		case j, ok := <-p.tasks:
			return j, ok
		default:
		}
		if i%64 == 0 {
			if time.Now().After(deadline) {
				break
			}
			runtime.Gosched() // let a goroutine waiting for this P run
		}
	}
	j, ok := <-p.tasks
	return j, ok
}

var (
	mu    sync.Mutex // guards cur and fixed against concurrent SetWorkers
	cur   *pool
	fixed int         // workers set by SetWorkers; 0 follows GOMAXPROCS
	busy  atomic.Bool // held by the For call that owns the pool
)

// Workers returns the number of goroutines (the caller included) that For
// spreads work over.
func Workers() int {
	mu.Lock()
	defer mu.Unlock()
	if fixed > 0 {
		return fixed
	}
	return runtime.GOMAXPROCS(0)
}

// SetWorkers fixes the pool size to n goroutines (the caller included) and
// returns the previous setting; n < 1 makes the pool follow GOMAXPROCS again
// (the default). It waits for a running For to finish before resizing.
func SetWorkers(n int) int {
	if n < 0 {
		n = 0
	}
	for !busy.CompareAndSwap(false, true) {
		runtime.Gosched()
	}
	defer busy.Store(false)
	mu.Lock()
	defer mu.Unlock()
	prev := fixed
	fixed = n
	if cur != nil && cur.size != want() {
		close(cur.tasks)
		cur = nil
	}
	return prev
}

// want is the pool size now asked for; mu must be held.
func want() int {
	if fixed > 0 {
		return fixed
	}
	return runtime.GOMAXPROCS(0)
}

// acquire returns the pool sized as asked, creating or replacing it; busy
// must be held.
func acquire() *pool {
	mu.Lock()
	defer mu.Unlock()
	w := want()
	if cur == nil || cur.size != w {
		if cur != nil {
			close(cur.tasks)
		}
		cur = newPool(w)
	}
	return cur
}

// For calls fn on disjoint chunks [lo, hi) that cover [0, n). Chunks hold at
// least grain iterations; when n is not larger than grain, when the pool has
// a single worker, or when the pool is already running another For (for
// example when fn itself calls For, or many goroutines call For at once), fn
// runs on the caller's goroutine, one call for the whole range. For returns
// after every chunk has finished; a panic in fn is re-raised in the caller.
func For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	if n <= grain || !busy.CompareAndSwap(false, true) {
		fn(0, n)
		return
	}
	p := acquire()
	if p.size == 1 {
		busy.Store(false)
		fn(0, n)
		return
	}
	chunks := min(p.size, (n+grain-1)/grain)
	// Every helper given the previous job has finished with it (For waited
	// for them), so the record is free to reuse.
	j := &p.job
	j.fn, j.n, j.chunk = fn, n, (n+chunks-1)/chunks
	j.next.Store(0)
	j.failed.Store(nil)
	helpers := (n+j.chunk-1)/j.chunk - 1
	j.wg.Add(helpers)
	for range helpers {
		p.tasks <- j
	}
	j.run()
	j.wg.Wait()
	f := j.failed.Load()
	j.fn = nil // keep nothing of the caller's alive
	busy.Store(false)
	if f != nil {
		panic(f.v)
	}
}
