package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
	"github.com/shoshin-ml/shoshin/train/dashboard"
)

// A dashboard follows a Fit; here its handler is mounted on a test server
// and the JSON API is read back, as another tool would.
func Example() {
	x := tensor.New([]float32{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2)
	y := tensor.New([]float32{0, 1, 1, 0}, 4)
	ds, _ := data.NewTensorDataset(x, y)
	model := nn.NewSequential(nn.NewDense(2, 8, nn.WithActivation(nn.ActReLU), nn.WithSeed(1)), nn.NewDense(8, 2, nn.WithSeed(2)))

	d, err := dashboard.New("") // New(":8080") would serve http://127.0.0.1:8080/
	if err != nil {
		panic(err)
	}
	defer d.Close()
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()

	_, err = train.Fit(context.Background(), model, optim.NewAdam(model.Params(), optim.AdamConfig{LR: 0.05}), ds, train.Config{
		Epochs: 3, BatchSize: 2, Quiet: true,
		Callbacks: []train.Callback{d.Run("xor", dashboard.WithConfusion(ds))},
	})
	if err != nil {
		panic(err)
	}

	resp, err := http.Get(srv.URL + "/api/runs/1")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var run struct {
		Name      string
		State     string
		Epochs    int
		StepLogs  []struct{ X float64 } `json:"step_logs"`
		EpochLogs []struct {
			V map[string]float64
		} `json:"epoch_logs"`
		Confusion struct{ Labels []string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s after %d epochs, %d step points, %d epoch points\n", run.Name, run.State, run.Epochs, len(run.StepLogs), len(run.EpochLogs))
	_, ok := run.EpochLogs[2].V["accuracy"]
	fmt.Println("accuracy logged:", ok, "- confusion matrix labels:", run.Confusion.Labels)
	// Output:
	// xor: done after 3 epochs, 6 step points, 3 epoch points
	// accuracy logged: true - confusion matrix labels: [0 1]
}
