package serve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// BenchmarkServeMLP serves the MNIST MLP (Flatten → Dense 128 ReLU → Dense
// 10) on 127.0.0.1 to 64 concurrent keep-alive clients, each sending one
// image a request, and reports requests/s, the latency percentiles seen by
// the clients, and the mean examples per batch, with micro-batching
// (MaxBatch 64; taking what is queued, or waiting up to 1 ms for a batch
// to fill) and without (MaxBatch 1), for the binary and the JSON form.
// Run with a bounded -benchtime, such as -benchtime=20000x.
//
// Two load generators: "rawconn", a lean one in the manner of wrk (one
// net.Conn a client, the request bytes built once, only the status line,
// Content-Length and body of an answer read), and "nethttp", an
// http.Client. Both run in the benchmark's own process, on the same cores
// as the server; the benchmark reports the process's CPU time per request
// (server and clients together) and GOMAXPROCS divided by it, and the
// clients' share shows in a -cpuprofile, whose samples from client
// goroutines carry the label side=client (go tool pprof -tagfocus
// side=client). "rawconn-2proc" runs the server in a second process (the
// test binary again, see TestMain) and reports the server's CPU per
// request and the clients' apart; its B/op and allocs/op are the
// clients'. Every answer is checked byte for byte against one checked
// beforehand, bit for bit, against a direct Predict.
func BenchmarkServeMLP(b *testing.B) {
	model := mnistMLP(1)
	x := images(64, 11)
	ref := reference(b, model, x)
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
			for _, gen := range []string{"rawconn", "rawconn-2proc", "nethttp"} {
				b.Run(form+"/"+mode.name+"/"+gen, func(b *testing.B) {
					cfg := Config{InputShape: mnistShape, MaxBatch: mode.maxBatch, MaxDelay: mode.maxDelay, MaxConcurrent: mode.workers}
					benchServe(b, model, ref, cfg, types[form], bodies[form], gen)
				})
			}
		}
	}
}

// benchClient sends requests over one keep-alive connection and returns
// each answer's body.
type benchClient interface {
	do(i int) (status int, body []byte, err error)
	close()
}

func benchServe(b *testing.B, model *nn.Sequential, ref *tensor.Tensor, cfg Config, contentType string, bodies [][]byte, gen string) {
	h, err := New(model, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	// The expected answers: each body's answer, checked against the
	// direct Predict bit for bit; the load then compares bytes.
	want := make([][]byte, len(bodies))
	for i, body := range bodies {
		w := postPredict(h, contentType, body)
		got := decodeBatchOrOne(b, w)
		requirePrediction(b, ref, i, got)
		want[i] = w.Body.Bytes()
	}
	const clients = 64
	var newClient func() (benchClient, error)
	var server *serverProcess // the server of rawconn-2proc
	switch gen {
	case "rawconn":
		addr := srv.Listener.Addr().String()
		reqs := rawRequests(addr, contentType, bodies)
		newClient = func() (benchClient, error) { return newRawClient(addr, reqs) }
	case "rawconn-2proc":
		server, err = startServerProcess(cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer server.stop()
		reqs := rawRequests(server.addr, contentType, bodies)
		newClient = func() (benchClient, error) { return newRawClient(server.addr, reqs) }
	case "nethttp":
		tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		newClient = func() (benchClient, error) {
			return &httpClient{c: client, url: srv.URL + "/predict", contentType: contentType, bodies: bodies}, nil
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0))) // RunParallel starts parallelism × GOMAXPROCS clients
	b.ReportAllocs()
	var server0 serverStats
	if server != nil {
		if server0, err = server.stats(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		pprof.Do(context.Background(), pprof.Labels("side", "client"), func(context.Context) {
			c, err := newClient()
			if err != nil {
				b.Error(err)
				return
			}
			defer c.close()
			var mine []time.Duration
			for i := 0; pb.Next(); i++ {
				t0 := time.Now()
				k := i % len(bodies)
				status, body, err := c.do(k)
				if err != nil {
					b.Error(err)
					return
				}
				if status != 200 || !bytes.Equal(body, want[k]) {
					b.Errorf("status %d, answer %q; want 200, %q", status, body, want[k])
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
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
	if server != nil {
		// The server's own CPU time per request, and the requests/s it
		// would serve with the cores to itself; the benchmark's process
		// (the clients) reports its CPU as client-cpu-µs/req.
		server1, err := server.stats()
		if err != nil {
			b.Fatal(err)
		}
		if perReq := (server1.cpu - server0.cpu).Seconds() / float64(len(lat)); perReq > 0 {
			b.ReportMetric(perReq*1e6, "server-cpu-µs/req")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0))/perReq, "server-bound-req/s")
			b.ReportMetric(cpu.Seconds()/float64(len(lat))*1e6, "client-cpu-µs/req")
		}
		b.ReportMetric((server1.examples-server0.examples)/(server1.batches-server0.batches), "examples/batch")
		return
	}
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

// decodeBatchOrOne returns the one prediction of an answer to a one-example
// request, binary (a batch of one) or JSON (one object).
func decodeBatchOrOne(t testing.TB, w *httptest.ResponseRecorder) prediction {
	t.Helper()
	if bytes.HasPrefix(w.Body.Bytes(), []byte(`{"predictions"`)) {
		got := decodeBatch(t, w)
		if len(got) != 1 {
			t.Fatalf("%d predictions; want 1", len(got))
		}
		return got[0]
	}
	return decodeOne(t, w)
}

// httpClient is the net/http load generator.
type httpClient struct {
	c                *http.Client
	url, contentType string
	bodies           [][]byte
	buf              bytes.Buffer
}

func (c *httpClient) do(i int) (int, []byte, error) {
	resp, err := c.c.Post(c.url, c.contentType, bytes.NewReader(c.bodies[i]))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	c.buf.Reset()
	_, err = c.buf.ReadFrom(resp.Body)
	return resp.StatusCode, c.buf.Bytes(), err
}

func (c *httpClient) close() {}

// rawClient is the lean load generator: HTTP/1.1 written and read by hand
// over one keep-alive connection, each request's bytes built once.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
	reqs [][]byte
	body []byte
}

// rawRequests returns the bytes of a POST /predict to addr for each body.
func rawRequests(addr, contentType string, bodies [][]byte) [][]byte {
	var reqs [][]byte
	for _, body := range bodies {
		req := fmt.Appendf(nil, "POST /predict HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", addr, contentType, len(body))
		reqs = append(reqs, append(req, body...))
	}
	return reqs
}

func newRawClient(addr string, reqs [][]byte) (*rawClient, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawClient{conn: conn, r: bufio.NewReaderSize(conn, 4096), reqs: reqs}, nil
}

func (c *rawClient) do(i int) (int, []byte, error) {
	if _, err := c.conn.Write(c.reqs[i]); err != nil {
		return 0, nil, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("status line %q", line)
	}
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(line) <= 2 {
			break
		}
		const cl = "content-length:"
		if len(line) > len(cl) && bytes.EqualFold(line[:len(cl)], []byte(cl)) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(line[len(cl):])))
			if err != nil {
				return 0, nil, fmt.Errorf("header %q", line)
			}
		}
	}
	if length < 0 {
		return 0, nil, fmt.Errorf("answer without Content-Length")
	}
	c.body = slices.Grow(c.body[:0], length)[:length]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		return 0, nil, err
	}
	return status, c.body, nil
}

func (c *rawClient) close() { c.conn.Close() }

// serverEnv names the environment variable that makes the test binary a
// benchmark server (see TestMain): its value is the Config's MaxBatch,
// MaxDelay in nanoseconds and MaxConcurrent, separated by commas.
const serverEnv = "SHOSHIN_SERVE_BENCH_SERVER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(serverEnv); spec != "" {
		if err := runBenchServer(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runBenchServer serves mnistMLP(1) on a loopback port it prints, with
// GET /stats answering the process's CPU time in nanoseconds and the
// examples and batches run, until its standard input closes.
func runBenchServer(spec string) error {
	var maxBatch, workers int
	var delay int64
	if _, err := fmt.Sscanf(spec, "%d,%d,%d", &maxBatch, &delay, &workers); err != nil {
		return fmt.Errorf("%s=%q: %v", serverEnv, spec, err)
	}
	h, err := New(mnistMLP(1), Config{InputShape: mnistShape, MaxBatch: maxBatch, MaxDelay: time.Duration(delay), MaxConcurrent: workers})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		var examples, batches float64
		fams, _ := h.Registry().Gather()
		for _, f := range fams {
			if f.GetName() == "shoshin_serve_batch_size" {
				hist := f.GetMetric()[0].GetHistogram()
				examples, batches = hist.GetSampleSum(), float64(hist.GetSampleCount())
			}
		}
		fmt.Fprintf(w, "%d %g %g\n", int64(cpuTime()), examples, batches)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	fmt.Println(ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
	return h.Close()
}

// serverProcess is the test binary run as a benchmark server.
type serverProcess struct {
	cmd   *exec.Cmd
	stdin io.Closer
	addr  string
}

type serverStats struct {
	cpu               time.Duration
	examples, batches float64
}

func startServerProcess(cfg Config) (*serverProcess, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%d,%d", serverEnv, cfg.MaxBatch, cfg.MaxDelay, cfg.MaxConcurrent))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProcess{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("server process: %v", err)
	}
	p.addr = strings.TrimSpace(line)
	return p, nil
}

func (p *serverProcess) stats() (serverStats, error) {
	resp, err := http.Get("http://" + p.addr + "/stats")
	if err != nil {
		return serverStats{}, err
	}
	defer resp.Body.Close()
	var st serverStats
	var ns int64
	if _, err := fmt.Fscanf(resp.Body, "%d %g %g", &ns, &st.examples, &st.batches); err != nil {
		return st, fmt.Errorf("server stats: %v", err)
	}
	st.cpu = time.Duration(ns)
	return st, nil
}

func (p *serverProcess) stop() {
	p.stdin.Close()
	p.cmd.Wait()
}
