// Package train is shoshin's Keras-style training loop: Fit, Evaluate and
// Predict, with progress output, validation, callbacks and history.
//
//	model := nn.NewSequential(
//		nn.NewFlatten(),
//		nn.NewDense(784, 128, nn.WithActivation(nn.ActReLU)),
//		nn.NewDense(128, 10),
//	)
//	opt := optim.NewAdam(model.Params(), optim.AdamConfig{LR: 1e-3})
//	hist, err := train.Fit(ctx, model, opt, trainSet, train.Config{
//		Epochs: 10, BatchSize: 64, ValidationSplit: 0.2,
//	})
//
// Fit prints one line per epoch (a live bar on a terminal) with the loss and
// metrics on the training and validation data, calls its callbacks
// (EarlyStopping, ModelCheckpoint, LRScheduler, ReduceLROnPlateau,
// CSVLogger, or your own), stops cleanly when its context is cancelled, and
// stops with an error on a NaN loss. Evaluate and Predict run batched
// without a tape; Predict is safe for concurrent use.
package train
