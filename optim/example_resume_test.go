package optim_test

import (
	"bytes"
	"fmt"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/optim"
)

// Resume a run with its schedule: save the optimizer's state and the
// schedule's, build both again the same way, load, and continue.
func ExampleStepLR_UnmarshalBinary() {
	w, b := line()
	opt := optim.NewSGD([]*nn.Param{w, b}, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	sched := optim.NewStepLR(opt, 2, 0.5)
	for range 3 {
		// ... one epoch of training ...
		sched.Step()
	}
	var optState bytes.Buffer
	if err := opt.SaveState(&optState); err != nil {
		panic(err)
	}
	schedState, err := sched.MarshalBinary()
	if err != nil {
		panic(err)
	}

	// Later: build the same optimizer and schedule, then load both.
	opt2 := optim.NewSGD([]*nn.Param{w, b}, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	sched2 := optim.NewStepLR(opt2, 2, 0.5)
	if err := opt2.LoadState(&optState); err != nil {
		panic(err)
	}
	if err := sched2.UnmarshalBinary(schedState); err != nil {
		panic(err)
	}
	fmt.Println("epoch", sched2.Epoch(), "lr", opt2.LR(), "base", sched2.BaseLR())
	sched2.Step()
	fmt.Println("epoch", sched2.Epoch(), "lr", opt2.LR())
	// Output:
	// epoch 3 lr 0.05 base 0.1
	// epoch 4 lr 0.025
}

// A schedule built after loading an optimizer state starts from the run's
// initial learning rate, which the state carries, not from the decayed
// rate it was saved at.
func ExampleInitialLRHolder() {
	w, b := line()
	opt := optim.NewAdam([]*nn.Param{w, b}, optim.AdamConfig{LR: 0.1})
	sched := optim.NewExponentialLR(opt, 0.5)
	sched.Step()
	sched.Step()
	var buf bytes.Buffer
	if err := opt.SaveState(&buf); err != nil {
		panic(err)
	}

	resumed := optim.NewAdam([]*nn.Param{w, b}, optim.AdamConfig{LR: 0.1})
	if err := resumed.LoadState(&buf); err != nil {
		panic(err)
	}
	initial, _ := resumed.InitialLR()
	fmt.Println("lr", resumed.LR(), "initial", initial)
	sched2 := optim.NewExponentialLR(resumed, 0.5)
	sched2.SetEpoch(2)
	fmt.Println("base", sched2.BaseLR(), "lr", resumed.LR())
	// Output:
	// lr 0.025 initial 0.1
	// base 0.1 lr 0.025
}
