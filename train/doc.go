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
//	probs, err := train.PredictProba(model, testSet.X(), 256) // [N, 10]
//
// Fit prints one line per epoch (a live bar on a terminal) with the loss and
// metrics on the training and validation data, calls its callbacks
// (EarlyStopping, ModelCheckpoint, LRScheduler, ReduceLROnPlateau,
// CSVLogger, BackupAndRestore, or your own), and stops cleanly when its
// context is cancelled.
//
// Fit checks before it starts: its configuration, the model's output on
// one example, every target against the loss (CheckInput), and that the
// model does not end in a softmax or sigmoid feeding a loss that applies
// its own (CheckOutput). While training it stops with an error naming the
// epoch and step on a NaN or infinite loss or parameter and on a panic of
// the model or loss. The metrics know whether the loss takes logits
// (TakesLogits), so binary accuracy, precision and recall cut logits at 0.
//
// Modes: Fit trains in training mode and leaves the model in evaluation
// mode. Everything else — the input checks, validation, Evaluate, Predict,
// PredictOne and PredictProba — runs on inference-mode inputs
// (autograd.NoGrad, Arena.Input), for which Dropout and BatchNorm behave as
// in evaluation whatever the model's mode; none of them ever switches the
// mode, so they are safe to call from many goroutines at once.
//
// Predict takes a batch [N, features...] and returns the model's raw
// outputs; PredictOne takes one example; PredictProba returns
// probabilities.
//
// Language models: a model that maps ids [B, T] to logits [B, T, V]
// (nn.GPT, nn.RNNLM) trains with Fit on next-token windows (text.Windows)
// and CrossEntropyLoss, which scores every position. The metrics then see
// B·T rows: Accuracy is per-token accuracy, and Perplexity and
// BitsPerToken report the loss as perplexity and in bits. A data set with
// a SetEpoch(int) method, like text.Windows, is told each epoch before
// its first batch, so every epoch draws new windows. Config.ClipGradNorm
// clips the gradients' global norm before each step, and StepScheduler
// steps a schedule (optim.NewWarmupCosine) after every batch rather than
// every epoch, for warm-up counted in steps. Generate continues a prompt:
// greedy, or sampled with a temperature, top-k and top-p from a seeded
// generator, stopping at a stop id, a length or ctx's cancellation; models
// implementing nn.IncrementalLM decode one token per step through their
// key/value caches or recurrent state.
//
// Resuming: Config.InitialEpoch starts a run at a later epoch with the
// shuffling and augmentation that epoch would have had, and the
// BackupAndRestore callback saves everything else at every epoch's end
// (model, optimizer, Dropout random state, callbacks, history) so that a
// run killed and started again ends bit for bit as one never interrupted.
package train
