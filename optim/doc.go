// Package optim trains parameters from their gradients: the Optimizer
// interface and its algorithms (SGD, Adam, AdamW, RMSprop, Adagrad),
// learning-rate schedules, gradient clipping and resumable optimizer state.
//
// A training step clears the gradients, backpropagates a loss and steps:
//
//	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 1e-3})
//	sched := optim.NewCosineAnnealingLR(opt, epochs, 0)
//	for epoch := range epochs {
//		for _, batch := range batches {
//			opt.ZeroGrad()
//			loss := lossOf(model, batch)
//			loss.Backward()
//			optim.ClipGradNorm(model.Params(), 1.0)
//			opt.Step()
//		}
//		sched.Step()
//	}
//
// # Algorithms
//
// Each algorithm follows the update rule PyTorch documents for it, written
// out in its type's comment, and its configuration's zero fields select
// PyTorch's defaults; the constant Zero asks for an explicit zero where the
// default is not zero (AdamWConfig{WeightDecay: optim.Zero}). Every update
// runs as one tight loop over a parameter's float32 values and allocates
// nothing once the parameter's state exists. Step, the shared driver, walks
// the parameter groups and hands each parameter that has a gradient to the
// algorithm.
//
// # Parameter groups
//
// A Group gives some parameters their own learning rate or weight decay;
// SplitDecay builds the common "no decay on biases and norms" split:
//
//	opt := optim.NewAdamW(nil, optim.AdamWConfig{LR: 3e-4}, optim.SplitDecay(model.Params())...)
//
// # Schedules
//
// StepLR, ExponentialLR, CosineAnnealingLR and WarmupCosine compute the
// learning rate in closed form from a base rate and the epoch count;
// ReduceLROnPlateau lowers it when a metric stalls. A schedule drives
// anything with LR and SetLR (LRSetter). The base rate is the optimizer's
// initial learning rate (InitialLRHolder, PyTorch's initial_lr): the first
// schedule built over an optimizer records the rate then in force, the
// optimizer's State carries it, and a schedule built after loading a state
// starts from it rather than from the decayed rate the state was saved at.
//
// Every schedule saves its configuration and progress with MarshalBinary
// and restores them with UnmarshalBinary, which checks that the state is
// for a schedule of the same kind and configuration and holds values a
// run can reach. With the optimizer's state, a resumed run continues bit
// for bit:
//
//	optState := ...      // opt.SaveState(w) or optim.SaveFile(opt, path)
//	schedState, err := sched.MarshalBinary()
//	// later, after building opt and sched as before:
//	err = opt.LoadState(r)
//	err = sched.UnmarshalBinary(schedState)
//
// # State
//
// StateDict and LoadStateDict capture and restore step counts and moments,
// keyed by parameter name; SaveState, LoadState, SaveFile and LoadFile store
// them in safetensors, the format models use, as tensors named
// "opt.<param>.<slot>" (PyTorch's slot names: exp_avg, exp_avg_sq,
// momentum_buffer, ...), with the step counts, learning rate and initial
// learning rate as metadata. A run resumed from a saved state continues bit
// for bit as if it had not stopped. Loading validates everything before
// changing anything: learning rates finite and >= 0, step counts in
// [1, MaxStep], shapes, every state value finite, second moments
// (exp_avg_sq, max_exp_avg_sq, square_avg, sum) >= 0, and errors name the
// parameter, slot, index and value.
package optim
