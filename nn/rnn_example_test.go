package nn_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// An LSTM over a padded batch: two stacked bidirectional layers, inputs
// batch-first, sequence lengths 4 and 2. Outputs at padded steps are zero
// and the final state of each sequence is taken at its own last step.
func ExampleLSTM() {
	lstm := nn.NewLSTM(3, 5, nn.RNNConfig{Layers: 2, Bidirectional: true, BatchFirst: true}, nn.WithSeed(1))
	x := autograd.Constant(tensor.Ones(2, 4, 3)) // (B, T, features)
	out, st := lstm.ForwardWith(x, nn.LSTMState{}, []int{4, 2})
	fmt.Println(lstm)
	fmt.Println("output", out.Shape(), "h_n", st.H.Shape(), "c_n", st.C.Shape())
	fmt.Println("padded step is zero:", tensor.MaxAll(tensor.Abs(tensor.Slice(tensor.Slice(out.Value(), 0, 1, 2), 1, 2, 4))) == 0)
	for _, p := range nn.StateDict(lstm)[:4] {
		fmt.Println(p.Name, p.Value.Shape())
	}
	// Output:
	// LSTM(3 → 5, layers=2, bidirectional, batch first)
	// output [2 4 10] h_n [4 2 5] c_n [4 2 5]
	// padded step is zero: true
	// bias_hh_l0 [20]
	// bias_hh_l0_reverse [20]
	// bias_hh_l1 [20]
	// bias_hh_l1_reverse [20]
}

// A GRUCell driven one step at a time, as in a decoder loop: the state
// starts at zero (the zero RNNState) and each Step returns the next.
func ExampleGRUCell() {
	cell := nn.NewGRUCell(2, 3, nn.WithSeed(1))
	var st nn.RNNState
	for t := 0; t < 4; t++ {
		x := autograd.Constant(tensor.Full(float32(t), 1, 2)) // (B, features)
		st = cell.Step(x, st)
	}
	fmt.Println(cell, "state", st.H.Shape())
	for _, p := range cell.Params() {
		fmt.Println(p.Name, p.Value().Shape())
	}
	// Output:
	// GRUCell(2 → 3) state [1 3]
	// weight_ih [9 2]
	// weight_hh [9 3]
	// bias_ih [9]
	// bias_hh [9]
}
