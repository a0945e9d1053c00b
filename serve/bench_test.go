package serve

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkServeMLP serves the MNIST MLP (Flatten → Dense 128 ReLU → Dense
// 10) on 127.0.0.1 to 64 concurrent keep-alive clients, each sending one
// image a request, and reports requests/s, the latency percentiles seen by
// the clients, and the mean examples per batch, with micro-batching
// (MaxBatch 64; taking what is queued, or waiting up to 1 ms for a batch
// to fill) and without (MaxBatch 1), for the binary and the JSON form. Run with a bounded -benchtime, such as -benchtime=20000x.
// It also reports the process's CPU time per request (clients included)
// and GOMAXPROCS divided by it: the requests/s the process would reach with
// its cores to itself, which a loaded machine cannot show in wall time.
func BenchmarkServeMLP(b *testing.B) {
	x := images(64, 11)
	bodies := map[string][][]byte{}
	for i := range 64 {
		row := x.Data()[i*784 : (i+1)*784]
		bodies["binary"] = append(bodies["binary"], rawFloats(row))
		bodies["json"] = append(bodies["json"], []byte(`{"input":`+float32JSON(row)+`}`))
	}
	types := map[string]string{"binary": "application/octet-stream", "json": "application/json"}
	for _, form := range []string{"binary", "json"} {
		for _, mode := range []struct {
			name     string
			maxBatch int
			maxDelay time.Duration
			workers  int
		}{{"batching", 64, 0, 0}, {"batching-1worker", 64, 0, 1}, {"batching-delay1ms", 64, time.Millisecond, 0}, {"nobatch", 1, 0, 0}} {
			b.Run(form+"/"+mode.name, func(b *testing.B) {
				benchServe(b, Config{InputShape: mnistShape, MaxBatch: mode.maxBatch, MaxDelay: mode.maxDelay, MaxConcurrent: mode.workers}, types[form], bodies[form])
			})
		}
	}
}

func benchServe(b *testing.B, cfg Config, contentType string, bodies [][]byte) {
	h, err := New(mnistMLP(1), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	const clients = 64
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := srv.URL + "/predict"
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0))) // RunParallel starts parallelism × GOMAXPROCS clients
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		buf := make([]byte, 4096)
		i := 0
		for pb.Next() {
			t0 := time.Now()
			resp, err := client.Post(url, contentType, bytes.NewReader(bodies[i%len(bodies)]))
			if err != nil {
				b.Error(err)
				return
			}
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					if err != io.EOF {
						b.Error(err)
					}
					break
				}
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			mine = append(mine, time.Since(t0))
			i++
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	if cpu > 0 {
		// CPU time of the process (server and clients) per request: on a
		// machine shared with other work, GOMAXPROCS seconds divided by it
		// estimates the throughput the process would reach alone.
		perReq := cpu.Seconds() / float64(len(lat))
		b.ReportMetric(perReq*1e6, "cpu-µs/req")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0))/perReq, "cpu-bound-req/s")
	}
	fams, err := h.Registry().Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "shoshin_serve_batch_size" {
			hist := f.GetMetric()[0].GetHistogram()
			b.ReportMetric(hist.GetSampleSum()/float64(hist.GetSampleCount()), "examples/batch")
		}
	}
}
