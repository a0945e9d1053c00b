package data

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/shoshin-ml/shoshin/tensor"
)

// The four files of an MNIST-format dataset, without extension.
var mnistFiles = [4]string{
	"train-images-idx3-ubyte",
	"train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte",
	"t10k-labels-idx1-ubyte",
}

// mnistDims holds the dimensions of the standard MNIST files.
var mnistDims = map[string][]int{
	"train-images-idx3-ubyte": {60000, 28, 28},
	"train-labels-idx1-ubyte": {60000},
	"t10k-images-idx3-ubyte":  {10000, 28, 28},
	"t10k-labels-idx1-ubyte":  {10000},
}

// mnistSHA256 holds the SHA-256 of the standard MNIST files, compressed
// (.gz, as distributed; FetchMNIST checks these) and decompressed (MNIST
// checks these against the decompressed stream, so a file passes or fails
// whatever its name and compression).
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
// gzip-compressed with a .gz suffix, or spelt with a dot before "idx"
// (train-images.idx3-ubyte). It returns the 60,000 training and 10,000
// test examples.
//
// Features have shape [N, 1, 28, 28] (NCHW with one channel, as in
// torchvision), pixels scaled to [0, 1]; a dense model flattens them
// (x.Reshape(n, 784)), a convolutional one uses them as they are. Targets
// are class ids 0 to 9, shape [N].
//
// Each file's header is checked (element type, rank and the standard
// dimensions) before its data is read, and the SHA-256 of its
// decompressed contents is computed while it is read and checked against
// the standard file's, whatever the file's name or compression, so a
// corrupt or different file is reported. Use FashionMNIST to load other
// datasets stored in the same layout.
func MNIST(dir string) (train, test *TensorDataset, err error) {
	return loadMNISTFormat(dir, true)
}

// FashionMNIST loads Fashion-MNIST (or any dataset in the MNIST layout:
// the same four file names, raw or .gz, uint8 images and labels 0 to 9)
// from dir, exactly like MNIST but without checking the standard MNIST
// dimensions and checksums. Its arrays may take up to MaxIDXBytes each.
func FashionMNIST(dir string) (train, test *TensorDataset, err error) {
	return loadMNISTFormat(dir, false)
}

func loadMNISTFormat(dir string, verify bool) (train, test *TensorDataset, err error) {
	// All four headers are read and checked before any data.
	var files [4]*mnistFile
	defer func() {
		for _, f := range files {
			if f != nil {
				f.close()
			}
		}
	}()
	for i, base := range mnistFiles {
		path, err := findMNISTFile(dir, base)
		if err != nil {
			return nil, nil, err
		}
		if files[i], err = openMNISTFile(path, base, 3-2*(i%2), verify); err != nil {
			return nil, nil, err
		}
	}
	for i := 0; i < 4; i += 2 {
		img, lbl := files[i], files[i+1]
		if n, m := img.s.dims[0], lbl.s.dims[0]; n != m {
			return nil, nil, fmt.Errorf("data: %s has %d images but %s has %d labels", img.path, n, lbl.path, m)
		}
	}
	// The test files load on a second goroutine while the training files
	// load on this one.
	var testErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		test, testErr = loadMNISTPair(files[2], files[3])
	}()
	train, err = loadMNISTPair(files[0], files[1])
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
// ("train-images.idx3-ubyte", raw or .gz) in dir.
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

// mnistFile is one file of an MNIST-layout dataset whose header has been
// read and checked.
type mnistFile struct {
	path, base string
	f          *os.File
	s          *idxStream
	h          hash.Hash // SHA-256 of the decompressed stream, or nil
}

// openMNISTFile opens the file at path, which stands for the standard file
// base, and checks its header: uint8, the given rank and, with verify, the
// standard dimensions.
func openMNISTFile(path, base string, rank int, verify bool) (_ *mnistFile, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	m := &mnistFile{path: path, base: base, f: f}
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	var tee io.Writer
	if verify {
		m.h = sha256.New()
		tee = m.h
	}
	if m.s, err = openIDX(f, path, fileSize(f), tee, newIDXConfig(nil)); err != nil {
		return nil, err
	}
	if m.s.typ != IDXUint8 || len(m.s.dims) != rank {
		what := "images must be a 3-D uint8 array [N, rows, cols]"
		if rank == 1 {
			what = "labels must be a 1-D uint8 array [N]"
		}
		return nil, offsetErr(path, 2, "%s, found a %d-D %s array %v", what, len(m.s.dims), m.s.typ, m.s.dims)
	}
	if want := mnistDims[base]; verify && !slices.Equal(m.s.dims, want) {
		return nil, offsetErr(path, 4, "dimensions %v differ from the standard MNIST %s's %v: another dataset? (use FashionMNIST for other MNIST-layout data)", m.s.dims, base, want)
	}
	return m, nil
}

func (m *mnistFile) close() {
	if m.s != nil {
		m.s.close()
	}
	m.f.Close()
}

// read reads the file's data and, when verifying, checks the SHA-256 of
// the decompressed stream.
func (m *mnistFile) read() ([]float32, error) {
	x, err := m.s.readData()
	if err != nil {
		return nil, err
	}
	if m.h != nil {
		if got, want := hex.EncodeToString(m.h.Sum(nil)), mnistSHA256[m.base]; got != want {
			return nil, &FormatError{File: m.path, Offset: -1, Msg: fmt.Sprintf("SHA-256 of the decompressed data %s differs from the standard MNIST %s's %s: the file is corrupt or another dataset (use FashionMNIST for other MNIST-layout data)", got, m.base, want)}
		}
	}
	return x, nil
}

// loadMNISTPair reads an image file and its label file into a dataset.
func loadMNISTPair(img, lbl *mnistFile) (*TensorDataset, error) {
	x, err := img.read()
	if err != nil {
		return nil, err
	}
	y, err := lbl.read()
	if err != nil {
		return nil, err
	}
	for j, c := range y {
		if c > 9 {
			return nil, offsetErr(lbl.path, lbl.s.off+int64(j), "label %d of example %d outside [0, 10)", int(c), j)
		}
	}
	for j, v := range x {
		x[j] = v / 255
	}
	n, rows, cols := img.s.dims[0], img.s.dims[1], img.s.dims[2]
	return NewTensorDataset(tensor.New(x, n, 1, rows, cols), tensor.New(y, n))
}
