package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/data/text"
	"github.com/shoshin-ml/shoshin/metrics"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/train"
)

func newDashboard(t *testing.T, opts ...Option) *Dashboard {
	d, err := New("127.0.0.1:0", opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

// TestStreamFollowsFit follows a whole Fit on the event stream: a
// snapshot first, then one step event per batch in order, one epoch event
// per epoch, and a final run event with the confusion matrix. The batch
// losses the dashboard derives from the running means add up to the
// epoch's loss.
func TestStreamFollowsFit(t *testing.T) {
	d := newDashboard(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := stream(t, ctx, d.URL()+"api/events")
	first := <-events
	require.Equal(t, "snapshot", first.Kind)
	require.Empty(t, decode[snapshot](t, first.Data).Runs)

	run := d.Run("blobs", WithConfusion(blobs(30, 2), "left", "right", "top"))
	hist, err := fit(context.Background(), t, 3, run)
	require.NoError(t, err)
	got := until(t, events, finished(t, run.ID()))

	var steps, epochs []stepEvent
	var last summary
	prev := first.ID
	for _, e := range got {
		require.Equal(t, prev+1, e.ID, "event ids count up without gaps")
		prev = e.ID
		switch e.Kind {
		case "step":
			steps = append(steps, decode[stepEvent](t, e.Data))
		case "epoch":
			epochs = append(epochs, decode[stepEvent](t, e.Data))
		case "run":
			last = decode[summary](t, e.Data)
		}
	}
	require.Len(t, steps, 12)
	require.Len(t, epochs, 3)
	sizes := []float64{16, 16, 16, 2}
	for i, s := range steps {
		p := s.Point
		require.Equal(t, float64(i+1), p.X)
		require.Equal(t, "running", s.Status.State)
		require.Equal(t, i/4, s.Status.Epoch)
		require.Equal(t, i%4+1, s.Status.Step)
		for _, k := range []string{"loss", "accuracy", "batch_loss", "lr", "throughput"} {
			require.Contains(t, p.V, k, "step %d", i)
		}
		require.InDelta(t, 0.05, p.V["lr"], 1e-9)
		require.Greater(t, p.V["throughput"], 0.0)
		require.Equal(t, "examples", s.Status.Unit)
		if i > 0 {
			require.GreaterOrEqual(t, p.T, steps[i-1].Point.T)
		}
	}
	for e, ev := range epochs {
		require.Equal(t, float64(4*(e+1)), ev.Point.X)
		want := hist.Epochs[e]
		for k, v := range want {
			require.InDelta(t, v, ev.Point.V[k], 1e-12, "epoch %d %s", e, k)
		}
		require.Contains(t, ev.Point.V, "val_loss")
		// The last step's running values are the epoch's.
		require.InDelta(t, want["accuracy"], steps[4*e+3].Point.V["accuracy"], 1e-12)
		var sum float64
		for i, n := range sizes {
			sum += steps[4*e+i].Point.V["batch_loss"] * n
		}
		require.InDelta(t, want["loss"], sum/50, 1e-9, "batch losses weighted by batch size average to the epoch's loss")
	}
	require.Equal(t, "done", last.State)
	require.Zero(t, last.Remaining)
	require.Greater(t, last.Elapsed, 0.0)
	require.NotNil(t, last.Confusion)
	require.Equal(t, []string{"left", "right", "top"}, last.Confusion.Labels)
	total, right := 0, 0
	for i, row := range last.Confusion.Counts {
		for j, n := range row {
			total += n
			if i == j {
				right += n
			}
		}
	}
	require.Equal(t, 30, total)
	require.InDelta(t, hist.Last()["val_accuracy"], float64(right)/30, 1e-12)
}

// TestReloadSeesHistory checks that a page opened after training (or
// reloaded) gets everything the live stream delivered: the snapshot of a
// new stream and GET /api/runs/{id} hold the same points.
func TestReloadSeesHistory(t *testing.T) {
	d := newDashboard(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := stream(t, ctx, d.URL()+"api/events")
	<-live
	run := d.Run("")
	_, err := fit(context.Background(), t, 2, run)
	require.NoError(t, err)
	var steps, epochs []point
	for _, e := range until(t, live, finished(t, run.ID())) {
		switch e.Kind {
		case "step":
			steps = append(steps, decode[stepEvent](t, e.Data).Point)
		case "epoch":
			epochs = append(epochs, decode[stepEvent](t, e.Data).Point)
		}
	}

	reload := <-stream(t, ctx, d.URL()+"api/events")
	require.Equal(t, "snapshot", reload.Kind)
	snap := decode[snapshot](t, reload.Data)
	require.Len(t, snap.Runs, 1)
	require.Equal(t, "run 1", snap.Runs[0].Name)
	require.Equal(t, steps, snap.Runs[0].StepLogs)
	require.Equal(t, epochs, snap.Runs[0].EpochLogs)
	require.Equal(t, reload.ID, snap.Seq)

	one := getJSON[runJSON](t, d.URL()+"api/runs/1")
	require.Equal(t, snap.Runs[0], one)
	list := getJSON[[]summary](t, d.URL()+"api/runs")
	require.Equal(t, []summary{one.summary}, list)
}

// TestSeriesStaysBounded trains 100 steps with room for 16 points: the
// series is halved as it grows, keeps every step's weight, and its mean
// position is that of the steps.
func TestSeriesStaysBounded(t *testing.T) {
	d := newDashboard(t, WithMaxPoints(16))
	run := d.Run("long")
	_, err := fit(context.Background(), t, 25, run)
	require.NoError(t, err)
	r := getJSON[runJSON](t, d.URL()+"api/runs/1")
	require.LessOrEqual(t, len(r.StepLogs), 16)
	require.Greater(t, len(r.StepLogs), 8)
	require.LessOrEqual(t, len(r.EpochLogs), 16)
	n, xs := 0, 0.0
	for i, p := range r.StepLogs {
		n += max(p.N, 1)
		xs += p.X * float64(max(p.N, 1))
		if i > 0 {
			require.Greater(t, p.X, r.StepLogs[i-1].X)
		}
	}
	require.Equal(t, 100, n)
	require.InDelta(t, 50.5, xs/100, 1e-9)
	require.Equal(t, 16, r.MaxPoints)
}

func TestSeriesHalving(t *testing.T) {
	s := series{max: 4}
	for i := 1; i <= 5; i++ {
		s.add(point{X: float64(i), V: map[string]float64{"a": float64(i)}})
	}
	// 1..5 became (1,2) (3,4) 5.
	require.Equal(t, []point{
		{X: 1.5, V: map[string]float64{"a": 1.5}, N: 2},
		{X: 3.5, V: map[string]float64{"a": 3.5}, N: 2},
		{X: 5, V: map[string]float64{"a": 5}},
	}, s.pts)
	s.add(point{X: 6, V: map[string]float64{"b": 6}})
	s.add(point{X: 7, V: map[string]float64{"a": 7}})
	// (1..4) weighs 4, (5,6) 2 and keeps b from 6 alone, 7 stays.
	require.Equal(t, []point{
		{X: 2.5, V: map[string]float64{"a": 2.5}, N: 4},
		{X: 5.5, V: map[string]float64{"a": 5, "b": 6}, N: 2},
		{X: 7, V: map[string]float64{"a": 7}},
	}, s.pts)
}

// TestConcurrentFits runs two Fits at once with the dashboard itself as
// their callback, while clients stream and poll; run under -race.
func TestConcurrentFits(t *testing.T) {
	d := newDashboard(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := stream(t, ctx, d.URL()+"api/events")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = fit(context.Background(), t, 3, d) })
	}
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for range 20 {
			resp, err := http.Get(d.URL() + "api/runs")
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	wg.Wait()
	<-polled
	require.NoError(t, errors.Join(errs...))
	ended := map[int]bool{}
	counts := map[int]int{}
	until(t, live, func(e sse) bool {
		switch e.Kind {
		case "step":
			counts[decode[stepEvent](t, e.Data).Status.ID]++
		case "run":
			if s := decode[summary](t, e.Data); s.State == "done" {
				ended[s.ID] = true
			}
		}
		return len(ended) == 2
	})
	require.Equal(t, map[int]int{1: 12, 2: 12}, counts)
	list := getJSON[[]summary](t, d.URL()+"api/runs")
	require.Len(t, list, 2)
	require.ElementsMatch(t, []string{"run 1", "run 2"}, []string{list[0].Name, list[1].Name})
	for _, id := range []int{1, 2} {
		r := getJSON[runJSON](t, fmt.Sprintf("%sapi/runs/%d", d.URL(), id))
		require.Len(t, r.StepLogs, 12)
		require.Len(t, r.EpochLogs, 3)
	}
}

// blockingWriter is a ResponseWriter whose writes after the first wait
// until released, like a client that stopped reading.
type blockingWriter struct {
	mu      sync.Mutex
	header  http.Header
	writes  [][]byte
	first   chan struct{} // closed after the first write
	blocked chan struct{} // closed when the second write starts
	release chan struct{}
	third   chan struct{} // closed after the third write
}

func (w *blockingWriter) Header() http.Header { return w.header }
func (w *blockingWriter) WriteHeader(int)     {}
func (w *blockingWriter) Flush()              {}
func (w *blockingWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	n := len(w.writes)
	w.writes = append(w.writes, append([]byte(nil), b...))
	w.mu.Unlock()
	switch n {
	case 0:
		close(w.first)
	case 1:
		close(w.blocked)
		<-w.release
	case 2:
		close(w.third)
	}
	return len(b), nil
}

// TestSlowClientGetsSnapshot checks that training never waits for a
// client that stopped reading, and that such a client, once it reads
// again more than the buffered events later, gets a fresh snapshot.
func TestSlowClientGetsSnapshot(t *testing.T) {
	d, err := New("")
	require.NoError(t, err)
	defer d.Close()
	run := d.Run("fast")
	s := &train.State{Epochs: 1, Steps: 3 * ringSize, BatchSize: 1, BatchTargets: 1}
	require.NoError(t, run.OnTrainBegin(s))
	require.NoError(t, run.OnEpochBegin(s))

	w := &blockingWriter{header: http.Header{}, first: make(chan struct{}), blocked: make(chan struct{}), release: make(chan struct{}), third: make(chan struct{})}
	req := httptest.NewRequest("GET", "/api/events", nil)
	served := make(chan struct{})
	go func() { defer close(served); d.Handler().ServeHTTP(w, req) }()
	<-w.first                                                    // the snapshot
	require.NoError(t, run.OnBatchEnd(s, train.Logs{"loss": 1})) // wakes the stream: its second write blocks
	<-w.blocked
	for i := 1; i < 2*ringSize; i++ { // would deadlock if publishing waited for the client
		s.Step = i
		require.NoError(t, run.OnBatchEnd(s, train.Logs{"loss": 1}))
	}
	close(w.release)
	<-w.third
	require.NoError(t, d.Close()) // ends the stream
	<-served
	require.Len(t, w.writes, 3)
	var kinds []string
	parseSSE(strings.NewReader(string(w.writes[2])), func(e sse) bool { kinds = append(kinds, e.Kind); return true })
	require.Equal(t, []string{"snapshot"}, kinds)
	var last snapshot
	parseSSE(strings.NewReader(string(w.writes[2])), func(e sse) bool { last = decode[snapshot](t, e.Data); return true })
	require.LessOrEqual(t, len(last.Runs[0].StepLogs), DefaultMaxPoints)
	n := 0
	for _, p := range last.Runs[0].StepLogs {
		n += max(p.N, 1)
	}
	require.Equal(t, 2*ringSize, n, "the snapshot accounts for every step")
}

// TestCloseEndsStreamsAndServer checks that Close ends open streams, stops
// listening and may be called again.
func TestCloseEndsStreamsAndServer(t *testing.T) {
	d, err := New("127.0.0.1:0")
	require.NoError(t, err)
	events := stream(t, context.Background(), d.URL()+"api/events")
	<-events
	require.NoError(t, d.Close())
	for range events { // drains, then ends: the body reached EOF
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(d.URL(), "http://"), "/")
	_, err = net.Dial("tcp", addr)
	require.Error(t, err, "nothing listens after Close")
	require.NoError(t, d.Close())
}

func TestAddress(t *testing.T) {
	d, err := New(":0")
	require.NoError(t, err)
	defer d.Close()
	require.True(t, strings.HasPrefix(d.URL(), "http://127.0.0.1:"), d.URL())

	_, err = New("8080")
	require.ErrorContains(t, err, `address "8080"`)

	h, err := New("")
	require.NoError(t, err)
	require.Empty(t, h.URL())
	require.NoError(t, h.Close())
}

// TestPageAndErrors checks the page and its assets come from the binary
// and refer to nothing outside it, and that bad run ids are answered
// with 400 and 404.
func TestPageAndErrors(t *testing.T) {
	d, err := New("")
	require.NoError(t, err)
	srv := httptest.NewServer(http.StripPrefix("/dash", d.Handler()))
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	code, ctype, page := get("/dash/")
	require.Equal(t, 200, code)
	require.Contains(t, ctype, "text/html")
	require.Contains(t, page, `src="static/app.js"`)
	for _, a := range []string{"/dash/static/app.js", "/dash/static/style.css"} {
		code, ctype, body := get(a)
		require.Equal(t, 200, code, a)
		require.NotContains(t, ctype, "text/plain", a)
		require.NotContains(t, body, "http://", "%s loads nothing from the network", a)
		require.NotContains(t, body, "https://", "%s loads nothing from the network", a)
	}
	code, _, body := get("/dash/api/runs/x")
	require.Equal(t, 400, code)
	require.Contains(t, body, `"x"`)
	code, _, body = get("/dash/api/runs/3")
	require.Equal(t, 404, code)
	require.Contains(t, body, "no run 3 (there are 0)")
	code, _, _ = get("/dash/nothing")
	require.Equal(t, 404, code)
}

// TestRunStates checks the final state of a failed and of a cancelled
// run, and that a run records several Fits in sequence as one.
func TestRunStates(t *testing.T) {
	d := newDashboard(t)
	boom := train.LambdaCallback{EpochEnd: func(s *train.State, _ train.Logs) error {
		if s.Epoch == 1 {
			return errors.New("boom")
		}
		return nil
	}}
	failed := d.Run("fails")
	_, err := fit(context.Background(), t, 3, failed, boom)
	require.ErrorContains(t, err, "boom")

	ctx, cancel := context.WithCancel(context.Background())
	stop := train.LambdaCallback{BatchEnd: func(s *train.State, _ train.Logs) error {
		if s.Step == 1 {
			cancel()
		}
		return nil
	}}
	stopped := d.Run("stopped")
	_, err = fit(ctx, t, 3, stopped, stop)
	require.ErrorIs(t, err, context.Canceled)

	again := d.Run("twice")
	_, err = fit(context.Background(), t, 1, again)
	require.NoError(t, err)
	_, err = fit(context.Background(), t, 1, again)
	require.NoError(t, err)

	list := getJSON[[]summary](t, d.URL()+"api/runs")
	require.Equal(t, "failed", list[0].State)
	require.Contains(t, list[0].Error, "boom")
	require.Equal(t, "stopped", list[1].State)
	require.Equal(t, "done", list[2].State)
	r := getJSON[runJSON](t, d.URL()+"api/runs/3")
	require.Len(t, r.StepLogs, 8)
	require.Len(t, r.EpochLogs, 2)
	require.Greater(t, r.StepLogs[4].T, r.StepLogs[3].T, "the second Fit's times follow the first's")
}

// TestLanguageModelRun checks a language model's run: throughput counted
// in tokens, and the sample generated at the end is Generate's.
func TestLanguageModelRun(t *testing.T) {
	tok, err := text.NewChars("abcdefgh")
	require.NoError(t, err)
	stream, err := text.Int32s(tok.Encode(strings.Repeat("abcdefgh", 40)))
	require.NoError(t, err)
	w, err := text.NewWindows(stream, text.WindowsConfig{SeqLen: 8, VocabSize: tok.VocabSize(), PerEpoch: 16, Seed: 1})
	require.NoError(t, err)
	model := nn.NewGPT(nn.GPTModelConfig{VocabSize: tok.VocabSize(), BlockSize: 8, Layers: 1, Block: nn.GPTConfig{DModel: 16, Heads: 2}}, nn.WithSeed(1))
	gen := train.GenerateConfig{MaxTokens: 12}
	d := newDashboard(t, WithSamples(tok, gen, "abc", "h"))
	_, err = train.Fit(context.Background(), model, optim.NewAdamW(model.Params(), optim.AdamWConfig{LR: 1e-2}), w, train.Config{
		Epochs: 2, BatchSize: 4, Quiet: true, Metrics: []func() metrics.Metric{train.BitsPerToken}, Callbacks: []train.Callback{d},
	})
	require.NoError(t, err)
	r := getJSON[runJSON](t, d.URL()+"api/runs/1")
	require.Equal(t, "tokens", r.Unit)
	require.Contains(t, r.StepLogs[0].V, "bits")
	require.Len(t, r.Samples, 2)
	for i, prompt := range []string{"abc", "h"} {
		ids, err := train.Generate(context.Background(), model, tok.Encode(prompt), gen)
		require.NoError(t, err)
		require.Equal(t, Sample{Prompt: prompt, Text: tok.Decode(ids)}, r.Samples[i])
	}
	require.Empty(t, r.Warnings)
	require.False(t, math.IsNaN(r.Throughput))
}
