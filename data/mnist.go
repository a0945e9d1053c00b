package data

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shoshin-ml/shoshin/tensor"
)

// The four files of an MNIST-format dataset, without extension.
var mnistFiles = [4]string{
	"train-images-idx3-ubyte",
	"train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte",
	"t10k-labels-idx1-ubyte",
}

// mnistSHA256 holds the SHA-256 of the standard MNIST files, compressed
// (.gz, as distributed) and decompressed.
var mnistSHA256 = map[string]string{
	"train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
	"train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
	"t10k-images-idx3-ubyte.gz":  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
	"t10k-labels-idx1-ubyte.gz":  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
	"train-images-idx3-ubyte":    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
	"train-labels-idx1-ubyte":    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
	"t10k-images-idx3-ubyte":     "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
	"t10k-labels-idx1-ubyte":     "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

// mnistSize holds the sizes in bytes of the standard .gz files.
var mnistSize = map[string]int64{
	"train-images-idx3-ubyte.gz": 9912422,
	"train-labels-idx1-ubyte.gz": 28881,
	"t10k-images-idx3-ubyte.gz":  1648877,
	"t10k-labels-idx1-ubyte.gz":  4542,
}

// MNIST loads the MNIST handwritten digits from dir, which holds the four
// standard files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), each either raw or
// gzip-compressed with a .gz suffix. It returns the 60,000 training and
// 10,000 test examples.
//
// Features have shape [N, 1, 28, 28] (NCHW with one channel, as in
// torchvision), pixels scaled to [0, 1]; a dense model flattens them
// (x.Reshape(n, 784)), a convolutional one uses them as they are. Targets
// are class ids 0 to 9, shape [N].
//
// Each file's SHA-256 is computed while it is read and checked against the
// standard file, so a corrupt or different file is reported; use
// FashionMNIST to load other datasets stored in the same layout.
func MNIST(dir string) (train, test *TensorDataset, err error) {
	return loadMNISTFormat(dir, true)
}

// FashionMNIST loads Fashion-MNIST (or any dataset in the MNIST layout:
// the same four file names, raw or .gz, uint8 images and labels 0 to 9)
// from dir, exactly like MNIST but without checking the standard MNIST
// checksums.
func FashionMNIST(dir string) (train, test *TensorDataset, err error) {
	return loadMNISTFormat(dir, false)
}

func loadMNISTFormat(dir string, verify bool) (train, test *TensorDataset, err error) {
	var paths [4]string
	for i, base := range mnistFiles {
		if paths[i], err = findMNISTFile(dir, base); err != nil {
			return nil, nil, err
		}
	}
	// The test files load on a second goroutine while the training files
	// load on this one.
	var testErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		test, testErr = loadMNISTPair(paths[2], paths[3], verify)
	}()
	train, err = loadMNISTPair(paths[0], paths[1], verify)
	<-done
	if err != nil {
		return nil, nil, err
	}
	if testErr != nil {
		return nil, nil, testErr
	}
	return train, test, nil
}

// findMNISTFile looks for base, base.gz and the variant with a dot
// ("train-images.idx3-ubyte") in dir.
func findMNISTFile(dir, base string) (string, error) {
	dotted := base[:len(base)-len("-idx3-ubyte")] + "." + base[len(base)-len("idx3-ubyte"):]
	for _, name := range []string{base + ".gz", base, dotted, dotted + ".gz"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("data: no %s or %s.gz in %s: %w", base, base, dir, fs.ErrNotExist)
}

// readIDXVerified reads an IDX file, hashing it as it goes, and checks the
// hash against want (hex) unless want is empty.
func readIDXVerified(path, want string) (*idxArray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	h := sha256.New()
	a, err := readIDX(io.TeeReader(f, h), path, size)
	if err != nil {
		return nil, err
	}
	if want == "" {
		return a, nil
	}
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return nil, &FormatError{File: path, Offset: -1, Msg: fmt.Sprintf("SHA-256 %s differs from the standard MNIST file's %s: the file is corrupt or another dataset (use FashionMNIST for other MNIST-layout data)", got, want)}
	}
	return a, nil
}

// mnistWant returns the expected SHA-256 of the file at path, or "".
func mnistWant(path string, verify bool) string {
	if !verify {
		return ""
	}
	return mnistSHA256[filepath.Base(path)]
}

// loadMNISTPair reads an image file and its label file into a dataset.
func loadMNISTPair(imgPath, lblPath string, verify bool) (*TensorDataset, error) {
	img, err := readIDXVerified(imgPath, mnistWant(imgPath, verify))
	if err != nil {
		return nil, err
	}
	if img.typ != IDXUint8 || len(img.dims) != 3 {
		return nil, offsetErr(imgPath, 2, "images must be a 3-D uint8 array [N, rows, cols], found a %d-D %s array %v", len(img.dims), img.typ, img.dims)
	}
	lbl, err := readIDXVerified(lblPath, mnistWant(lblPath, verify))
	if err != nil {
		return nil, err
	}
	if lbl.typ != IDXUint8 || len(lbl.dims) != 1 {
		return nil, offsetErr(lblPath, 2, "labels must be a 1-D uint8 array [N], found a %d-D %s array %v", len(lbl.dims), lbl.typ, lbl.dims)
	}
	n, rows, cols := img.dims[0], img.dims[1], img.dims[2]
	if lbl.dims[0] != n {
		return nil, fmt.Errorf("data: %s has %d images but %s has %d labels", imgPath, n, lblPath, lbl.dims[0])
	}
	y := make([]float32, n)
	for i, c := range lbl.raw {
		if c > 9 {
			return nil, offsetErr(lblPath, lbl.off+int64(i), "label %d of example %d outside [0, 10)", c, i)
		}
		y[i] = float32(c)
	}
	x := make([]float32, len(img.raw))
	for i, b := range img.raw {
		x[i] = float32(b) / 255
	}
	return NewTensorDataset(tensor.New(x, n, 1, rows, cols), tensor.New(y, n))
}
