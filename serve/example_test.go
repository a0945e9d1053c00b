package serve_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/serve"
)

// A model served over HTTP with JSON and binary requests. Its outputs are
// its inputs, taken as probabilities, to keep the answers easy to check.
func Example() {
	model := nn.NewDense(2, 2)
	copy(model.Weight.Value().Data(), []float32{1, 0, 0, 1}) // outputs = inputs
	clear(model.Bias.Value().Data())
	h, err := serve.New(model, serve.Config{
		InputShape: []int{2},
		Classes:    []string{"cat", "dog"},
		Output:     serve.OutputProbabilities,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()

	show := func(resp *http.Response, err error) {
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Print(resp.StatusCode, " ", string(body))
	}
	show(http.Post(srv.URL+"/predict", "application/json", strings.NewReader(`{"input": [0.25, 0.75]}`)))
	show(http.Post(srv.URL+"/predict", "application/json", strings.NewReader(`{"inputs": [[0.9, 0.1], [0.5, 0.5]]}`)))
	// The binary form: little-endian float32 values, two per example.
	var raw bytes.Buffer
	for _, v := range []float32{0.625, 0.375} {
		binary.Write(&raw, binary.LittleEndian, math.Float32bits(v))
	}
	show(http.Post(srv.URL+"/predict", "application/octet-stream", &raw))
	show(http.Post(srv.URL+"/predict", "application/json", strings.NewReader(`{"input": [1, 2, 3]}`)))
	// Output:
	// 200 {"label":1,"class":"dog","probabilities":[0.25,0.75]}
	// 200 {"predictions":[{"label":0,"class":"cat","probabilities":[0.9,0.1]},{"label":0,"class":"cat","probabilities":[0.5,0.5]}]}
	// 200 {"predictions":[{"label":0,"class":"cat","probabilities":[0.625,0.375]}]}
	// 400 {"error":"\"input\" has shape [3]; want [2]"}
}

// Serving with graceful shutdown: stop the server, which waits for the
// requests in progress, then the Handler.
func ExampleHandler_Shutdown() {
	h, err := serve.New(nn.NewDense(4, 3), serve.Config{InputShape: []int{4}})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(h)
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("ready:", resp.StatusCode)

	srv.Config.Shutdown(context.Background())
	srv.Close()
	fmt.Println("drained:", h.Shutdown(context.Background()))
	// Output:
	// ready: 200
	// drained: <nil>
}
