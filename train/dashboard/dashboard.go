package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/shoshin-ml/shoshin/train"
)

//go:embed assets
var assets embed.FS

// DefaultMaxPoints bounds each run's per-step and per-epoch series unless
// WithMaxPoints says otherwise.
const DefaultMaxPoints = 2000

// ringSize is the number of recent events kept for streaming; a client
// that falls further behind gets a fresh snapshot instead.
const ringSize = 4096

// Dashboard records training runs and serves them: a page, a JSON API and
// a Server-Sent Events stream (see the package documentation). It is a
// train.Callback: each Fit it is given becomes a run named "run 1",
// "run 2", ...; Run makes a named one. Its methods are safe for
// concurrent use, so one Dashboard can follow several Fits at once.
type Dashboard struct {
	opts options
	mux  *http.ServeMux
	srv  *http.Server
	url  string
	// served is closed when the server's Serve returns.
	served chan struct{}
	// done is closed by Close: streams end.
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	runs    []*Run
	byState map[*train.State]*Run
	seq     uint64 // the last event's number
	ring    [ringSize]event
	changed chan struct{} // closed and replaced at every event
}

// event is one message of the stream, encoded once when it happens.
type event struct {
	seq  uint64
	kind string
	data []byte
}

// New makes a dashboard and, unless addr is "", starts serving it on addr
// (host:port). An empty host means localhost: ":8080" listens on
// 127.0.0.1:8080 only; name a host ("0.0.0.0:8080") to be reachable from
// other machines, and port 0 to let the system pick one (see URL). With
// addr "" nothing listens: mount Handler on a server of your own.
//
// The options set defaults for every run (Run may override them). Call
// Close when the program is done with it.
func New(addr string, opts ...Option) (*Dashboard, error) {
	d := &Dashboard{
		opts:    defaultOptions(),
		byState: map[*train.State]*Run{},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, o := range opts {
		o(&d.opts)
	}
	d.mux = d.routes()
	if addr == "" {
		return d, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	urlHost := ln.Addr().(*net.TCPAddr)
	shown := urlHost.String()
	if urlHost.IP.IsUnspecified() {
		shown = net.JoinHostPort("localhost", strconv.Itoa(urlHost.Port))
	}
	d.url = "http://" + shown + "/"
	d.srv = &http.Server{Handler: d.mux, ReadHeaderTimeout: 10 * time.Second}
	d.served = make(chan struct{})
	go func() {
		defer close(d.served)
		_ = d.srv.Serve(ln) // returns http.ErrServerClosed after Shutdown
	}()
	return d, nil
}

// URL returns the page's address, such as "http://127.0.0.1:8080/", or ""
// when the dashboard does not listen itself.
func (d *Dashboard) URL() string { return d.url }

// Handler returns the dashboard's HTTP handler: the page at "/", the API
// under "/api/". Its links are relative, so it can be mounted under a
// prefix with http.StripPrefix.
func (d *Dashboard) Handler() http.Handler { return d.mux }

// Close ends the event streams and, if New started a server, shuts it
// down and waits for it. Recorded runs stay readable through Handler.
// Close is idempotent.
func (d *Dashboard) Close() error {
	d.closeOnce.Do(func() {
		close(d.done)
		if d.srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.closeErr = d.srv.Shutdown(ctx)
		<-d.served
	})
	return d.closeErr
}

// Run returns a new run named name ("run N" when name is ""), to pass to
// Fit as a callback; opts override the dashboard's options for it. A run
// records one Fit, or several in sequence (a resumed training continues
// the same curves).
func (d *Dashboard) Run(name string, opts ...Option) *Run {
	o := d.opts
	for _, f := range opts {
		f(&o)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id := len(d.runs) + 1
	if name == "" {
		name = fmt.Sprintf("run %d", id)
	}
	r := newRun(d, id, name, o)
	d.runs = append(d.runs, r)
	d.publishLocked("run", r.summaryLocked())
	return r
}

// publishLocked records an event and wakes the streams; d.mu is held.
func (d *Dashboard) publishLocked(kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value published is made of strings, ints and finite
		// floats: an error here is a bug.
		panic("dashboard: " + err.Error())
	}
	d.seq++
	d.ring[d.seq%ringSize] = event{seq: d.seq, kind: kind, data: b}
	close(d.changed)
	d.changed = make(chan struct{})
}

// snapshot is the first event of every stream and the reply of
// GET /api/runs?full=1: every run with its curves.
type snapshot struct {
	Seq  uint64    `json:"seq"`
	Runs []runJSON `json:"runs"`
}

func (d *Dashboard) snapshotLocked() snapshot {
	s := snapshot{Seq: d.seq, Runs: make([]runJSON, len(d.runs))}
	for i, r := range d.runs {
		s.Runs[i] = r.fullLocked()
	}
	return s
}

func (d *Dashboard) routes() *http.ServeMux {
	mux := http.NewServeMux()
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(static)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", files))
	mux.HandleFunc("GET /api/runs", d.serveRuns)
	mux.HandleFunc("GET /api/runs/{id}", d.serveRun)
	mux.HandleFunc("GET /api/events", d.serveEvents)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(v)
}

// serveRuns answers GET /api/runs: the runs without their curves.
func (d *Dashboard) serveRuns(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	out := make([]summary, len(d.runs))
	for i, run := range d.runs {
		out[i] = run.summaryLocked()
	}
	d.mu.Unlock()
	writeJSON(w, out)
}

// serveRun answers GET /api/runs/{id}: one run with its curves.
func (d *Dashboard) serveRun(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, fmt.Sprintf("run id %q is not a number", r.PathValue("id")), http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	if id < 1 || id > len(d.runs) {
		n := len(d.runs)
		d.mu.Unlock()
		http.Error(w, fmt.Sprintf("no run %d (there are %d)", id, n), http.StatusNotFound)
		return
	}
	full := d.runs[id-1].fullLocked()
	d.mu.Unlock()
	writeJSON(w, full)
}

// serveEvents answers GET /api/events with a Server-Sent Events stream:
// a snapshot, then every event as it happens. A client that falls more
// than ringSize events behind gets a new snapshot.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	var cursor uint64
	first := true
	for {
		buf.Reset()
		d.mu.Lock()
		if first || d.seq-cursor >= ringSize {
			b, err := json.Marshal(d.snapshotLocked())
			if err != nil {
				d.mu.Unlock()
				panic("dashboard: " + err.Error())
			}
			writeEvent(&buf, d.seq, "snapshot", b)
			first = false
		} else {
			for s := cursor + 1; s <= d.seq; s++ {
				e := &d.ring[s%ringSize]
				writeEvent(&buf, e.seq, e.kind, e.data)
			}
		}
		cursor = d.seq
		changed := d.changed
		d.mu.Unlock()
		if buf.Len() > 0 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		}
	}
}

func writeEvent(buf *bytes.Buffer, seq uint64, kind string, data []byte) {
	fmt.Fprintf(buf, "id: %d\nevent: %s\ndata: %s\n\n", seq, kind, data)
}

// run returns the run that records Fit's state s.
func (d *Dashboard) run(s *train.State) (*Run, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.byState[s]
	if !ok {
		return nil, errors.New("dashboard: a hook ran before OnTrainBegin")
	}
	return r, nil
}

// OnTrainBegin starts a new run for this Fit.
func (d *Dashboard) OnTrainBegin(s *train.State) error {
	r := d.Run("")
	d.mu.Lock()
	d.byState[s] = r
	d.mu.Unlock()
	return r.OnTrainBegin(s)
}

// OnTrainEnd finishes the run of this Fit.
func (d *Dashboard) OnTrainEnd(s *train.State) error {
	r, err := d.run(s)
	if err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.byState, s)
	d.mu.Unlock()
	return r.OnTrainEnd(s)
}

// OnEpochBegin passes the hook to the run of this Fit.
func (d *Dashboard) OnEpochBegin(s *train.State) error {
	r, err := d.run(s)
	if err != nil {
		return err
	}
	return r.OnEpochBegin(s)
}

// OnEpochEnd passes the hook to the run of this Fit.
func (d *Dashboard) OnEpochEnd(s *train.State, logs train.Logs) error {
	r, err := d.run(s)
	if err != nil {
		return err
	}
	return r.OnEpochEnd(s, logs)
}

// OnBatchBegin does nothing.
func (d *Dashboard) OnBatchBegin(*train.State) error { return nil }

// OnBatchEnd passes the hook to the run of this Fit.
func (d *Dashboard) OnBatchEnd(s *train.State, logs train.Logs) error {
	r, err := d.run(s)
	if err != nil {
		return err
	}
	return r.OnBatchEnd(s, logs)
}

// WantsBatchMetrics asks Fit for the running metrics at every step.
func (d *Dashboard) WantsBatchMetrics() bool { return true }

var (
	_ train.Callback       = (*Dashboard)(nil)
	_ train.BatchMetricser = (*Dashboard)(nil)
)
