package train_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/shoshin-ml/shoshin/train"
)

// A model of 3 features and 2 outputs whose weights are set by hand.
func handModel() *nn.Sequential {
	d := nn.NewDense(3, 2)
	copy(d.Weight.Value().Data(), []float32{1, 0, 0, 0, 1, 0})
	copy(d.Bias.Value().Data(), []float32{0, 1})
	return nn.NewSequential(d)
}

func ExamplePredictOne() {
	model := handModel()
	// One example of 3 features: PredictOne adds and removes the batch axis.
	out, err := train.PredictOne(model, tensor.New([]float32{2, 3, 4}, 3))
	fmt.Println(out.Shape(), out.Data(), err)

	// Predict wants a batch [N, 3]; one example of shape [3] is an error.
	_, err = train.Predict(model, tensor.New([]float32{2, 3, 4}, 3), 32)
	fmt.Println(err != nil)
	// Output:
	// [2] [2 4] <nil>
	// true
}

func ExamplePredictProba() {
	model := handModel() // outputs logits, as for CrossEntropyLoss
	x := tensor.New([]float32{0, 0, 0, 5, 0, 0}, 2, 3)
	probs, err := train.PredictProba(model, x, 32)
	if err != nil {
		panic(err)
	}
	for i := range 2 {
		fmt.Printf("%.3f %.3f\n", probs.At(i, 0), probs.At(i, 1))
	}
	// Output:
	// 0.269 0.731
	// 0.982 0.018
}

// ExampleBackupAndRestore interrupts a run after two epochs and starts it
// again: the second Fit restores the backup and continues with epoch 3.
func ExampleBackupAndRestore() {
	dir, err := os.MkdirTemp("", "backup")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	x, y := tensor.Zeros(8, 2), tensor.Zeros(8)
	for i := range 8 {
		x.Set(float32(i%2), i, 0)
		y.Data()[i] = float32(i % 2)
	}
	ds, err := data.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	run := func(stopAt int) (*train.History, error) {
		model := nn.NewSequential(nn.NewDense(2, 2, nn.WithSeed(1)))
		opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 0.1})
		interrupt := train.LambdaCallback{EpochBegin: func(s *train.State) error {
			fmt.Println("epoch", s.Epoch+1)
			if s.Epoch == stopAt {
				return errors.New("interrupted")
			}
			return nil
		}}
		return train.Fit(context.Background(), model, opt, ds, train.Config{
			Epochs: 4, Quiet: true,
			Callbacks: []train.Callback{
				&train.LRScheduler{Schedule: optim.NewStepLR(opt, 1, 0.5)},
				interrupt,
				&train.BackupAndRestore{Dir: dir}, // last
			},
		})
	}
	_, err = run(2)
	fmt.Println(err)
	hist, err := run(-1)
	fmt.Println(len(hist.Epochs), "epochs,", err)
	// Output:
	// epoch 1
	// epoch 2
	// epoch 3
	// interrupted
	// epoch 3
	// epoch 4
	// 4 epochs, <nil>
}

// ExampleConfig_shards trains the same model twice, once on whole batches
// and once with each batch split into two shares trained side by side:
// the gradients are the whole batch's, so the losses agree to float32
// rounding.
func ExampleConfig_shards() {
	x := tensor.Zeros(64, 4)
	y := tensor.Zeros(64)
	for i := range 64 {
		for j := range 4 {
			x.Data()[i*4+j] = float32((i*7+j*3)%11) / 11
		}
		if x.Data()[i*4] > 0.5 {
			y.Data()[i] = 1
		}
	}
	ds, err := data.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	for _, shards := range []int{0, 2} {
		model := nn.NewSequential(nn.NewDense(4, 16, nn.WithSeed(1)), nn.NewReLU(), nn.NewDense(16, 2, nn.WithSeed(2)))
		opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 0.01})
		hist, err := train.Fit(context.Background(), model, opt, ds, train.Config{
			Epochs: 20, BatchSize: 16, Seed: 1, Shards: shards, Quiet: true,
		})
		if err != nil {
			panic(err)
		}
		fmt.Printf("shards %d: loss %.3f\n", shards, hist.Epochs[19]["loss"])
	}
	// Output:
	// shards 0: loss 0.201
	// shards 2: loss 0.201
}
