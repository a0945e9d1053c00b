package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

// blobs makes n points in 2-D around three centres, labelled 0, 1, 2.
func blobs(n int, seed uint64) *data.TensorDataset {
	r := rand.New(rand.NewPCG(seed, 2))
	x, y := tensor.Zeros(n, 2), tensor.Zeros(n)
	centres := [][2]float32{{-2, 0}, {2, 0}, {0, 2.5}}
	for i := range n {
		c := i % 3
		y.Data()[i] = float32(c)
		x.Set(centres[c][0]+float32(r.NormFloat64())*0.6, i, 0)
		x.Set(centres[c][1]+float32(r.NormFloat64())*0.6, i, 1)
	}
	ds, err := data.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	return ds
}

func classifier(seed uint64) nn.Module {
	return nn.NewSequential(
		nn.NewDense(2, 16, nn.WithActivation(nn.ActReLU), nn.WithSeed(seed)),
		nn.NewDense(16, 3, nn.WithSeed(seed+1)),
	)
}

// fit trains a classifier on 50 blobs in batches of 16 (4 steps per
// epoch, the last of 2 examples), validating on 30 more.
func fit(ctx context.Context, t testing.TB, epochs int, cbs ...train.Callback) (*train.History, error) {
	return fitLR(ctx, t, epochs, 0.05, cbs...)
}

// fitLR is fit with Adam's learning rate lr.
func fitLR(ctx context.Context, t testing.TB, epochs int, lr float32, cbs ...train.Callback) (*train.History, error) {
	m := classifier(1)
	return train.Fit(ctx, m, optim.NewAdam(m.Params(), optim.AdamConfig{LR: lr}), blobs(50, 1), train.Config{
		Epochs: epochs, BatchSize: 16, Quiet: true, Seed: 1, Validation: blobs(30, 2), Callbacks: cbs,
	})
}

// sse is one Server-Sent Event.
type sse struct {
	ID   uint64
	Kind string
	Data []byte
}

// stream reads the events of GET url onto a channel, until the body ends
// or, so that a missing event fails a test rather than hanging it, a
// minute has passed.
func stream(t testing.TB, ctx context.Context, url string) <-chan sse {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	ch := make(chan sse, 64)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		parseSSE(resp.Body, func(e sse) bool {
			select {
			case ch <- e:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	return ch
}

// parseSSE reads events as the EventSource specification does (the
// fields this server sends: id, event, data) and hands each to emit.
func parseSSE(r io.Reader, emit func(sse) bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var e sse
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data != nil {
				e.Data = []byte(strings.Join(data, "\n"))
				if e.Kind == "" {
					e.Kind = "message"
				}
				if !emit(e) {
					return
				}
			}
			e, data = sse{}, nil
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			e.ID, _ = strconv.ParseUint(value, 10, 64)
		case "event":
			e.Kind = value
		case "data":
			data = append(data, value)
		}
	}
}

// decoded events.
type stepEvent struct {
	Status status `json:"status"`
	Point  point  `json:"point"`
}

func decode[T any](t testing.TB, b []byte) T {
	var v T
	require.NoError(t, json.Unmarshal(b, &v), "%s", b)
	return v
}

// until reads events until done says so, and returns them all. It fails
// the test if the stream ends first.
func until(t testing.TB, ch <-chan sse, done func(sse) bool) []sse {
	var got []sse
	for e := range ch {
		got = append(got, e)
		if done(e) {
			return got
		}
	}
	t.Fatalf("the stream ended after %d events without the one awaited", len(got))
	return nil
}

// finished reports whether e is a "run" event of run id in a final state.
func finished(t testing.TB, id int) func(sse) bool {
	return func(e sse) bool {
		if e.Kind != "run" {
			return false
		}
		s := decode[summary](t, e.Data)
		return s.ID == id && (s.State == "done" || s.State == "failed" || s.State == "stopped")
	}
}

func getJSON[T any](t testing.TB, url string) T {
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return decode[T](t, b)
}
