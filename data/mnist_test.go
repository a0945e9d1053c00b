package data

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoshin-ml/shoshin/internal/mnisttest"
	"github.com/shoshin-ml/shoshin/tensor"
	"github.com/stretchr/testify/require"
)

func TestMNISTReal(t *testing.T) {
	dir := mnisttest.Dir(t)
	start := time.Now()
	train, test, err := MNIST(dir)
	require.NoError(t, err)
	t.Logf("loaded and verified MNIST in %v", time.Since(start))
	require.Equal(t, 60000, train.Len())
	require.Equal(t, 10000, test.Len())
	require.Equal(t, []int{60000, 1, 28, 28}, train.X().Shape())
	require.Equal(t, []int{10000}, test.Y().Shape())
	require.Equal(t, []int{1, 28, 28}, train.FeatureShape())
	counts := make([]int, 10)
	for _, c := range train.Labels() {
		counts[c]++
	}
	// The well-known class counts of the MNIST training set.
	require.Equal(t, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, counts)
	require.Equal(t, 5, train.Labels()[0])
	require.Equal(t, 7, test.Labels()[0])
	lo, hi := float32(1), float32(0)
	for _, v := range train.X().Data() {
		lo, hi = min(lo, v), max(hi, v)
	}
	require.Equal(t, float32(0), lo)
	require.Equal(t, float32(1), hi)
	// The files pass their checksums (MNIST verified them); an altered copy
	// does not.
	for name, want := range mnistSHA256 {
		if strings.HasSuffix(name, ".gz") {
			got, err := fileSHA256(filepath.Join(dir, name))
			require.NoError(t, err)
			require.Equal(t, want, got, name)
		}
	}
}

// writeMNISTDir writes a small dataset in the MNIST layout.
func writeMNISTDir(t *testing.T, dir string, gz bool, nTrain, nTrainLabels int, labelVal float32) {
	write := func(base string, x *tensor.Tensor) {
		name := base
		if gz {
			name += ".gz"
		}
		f, err := os.Create(filepath.Join(dir, name))
		require.NoError(t, err)
		defer f.Close()
		if gz {
			zw := gzip.NewWriter(f)
			require.NoError(t, WriteIDX(zw, x, IDXUint8))
			require.NoError(t, zw.Close())
			return
		}
		require.NoError(t, WriteIDX(f, x, IDXUint8))
	}
	img := func(n int) *tensor.Tensor {
		x := tensor.Zeros(n, 28, 28)
		for i := range x.Data() {
			x.Data()[i] = float32(i % 256)
		}
		return x
	}
	lbl := func(n int) *tensor.Tensor {
		y := tensor.Zeros(n)
		for i := range y.Data() {
			y.Data()[i] = float32(i % 10)
		}
		if n > 3 {
			y.Data()[3] = labelVal
		}
		return y
	}
	write("train-images-idx3-ubyte", img(nTrain))
	write("train-labels-idx1-ubyte", lbl(nTrainLabels))
	write("t10k-images-idx3-ubyte", img(5))
	write("t10k-labels-idx1-ubyte", lbl(5))
}

func TestFashionMNISTLayout(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		writeMNISTDir(t, dir, gz, 12, 12, 3)
		train, test, err := FashionMNIST(dir)
		require.NoError(t, err)
		require.Equal(t, 12, train.Len())
		require.Equal(t, 5, test.Len())
		require.Equal(t, []int{12, 1, 28, 28}, train.X().Shape())
		require.Equal(t, float32(255)/255, train.X().Data()[255])
		require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1}, train.Labels())
		// Same names as MNIST, other contents: MNIST refuses them from the
		// header already.
		_, _, err = MNIST(dir)
		require.ErrorContains(t, err, "dimensions [12 28 28] differ from the standard MNIST train-images-idx3-ubyte's [60000 28 28]")
	}
}

func TestMNISTMalformed(t *testing.T) {
	dir := t.TempDir()
	writeMNISTDir(t, dir, true, 12, 11, 3)
	_, _, err := FashionMNIST(dir)
	require.ErrorContains(t, err, "has 12 images but")
	require.ErrorContains(t, err, "has 11 labels")

	dir = t.TempDir()
	writeMNISTDir(t, dir, false, 12, 12, 10)
	_, _, err = FashionMNIST(dir)
	require.ErrorContains(t, err, "train-labels-idx1-ubyte: offset 11: label 10 of example 3 outside [0, 10)")

	dir = t.TempDir()
	writeMNISTDir(t, dir, false, 12, 12, 1)
	p := filepath.Join(dir, "t10k-labels-idx1-ubyte")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, WriteIDX(f, tensor.Zeros(5, 1), IDXUint8))
	f.Close()
	_, _, err = FashionMNIST(dir)
	require.ErrorContains(t, err, "labels must be a 1-D uint8 array")

	require.NoError(t, os.Remove(p))
	_, _, err = FashionMNIST(dir)
	require.ErrorContains(t, err, "no t10k-labels-idx1-ubyte")

	_, _, err = MNIST(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "no train-images-idx3-ubyte")
}

// copyMNIST writes the four real MNIST files into a new folder, each
// under the name spell(base) and gzip-compressed or not as gz says (the
// .gz files are copied as distributed, the others decompressed), and
// returns the folder.
func copyMNIST(t *testing.T, src string, spell func(base string) string, gz bool) string {
	dir := t.TempDir()
	for _, base := range mnistFiles {
		b, err := os.ReadFile(filepath.Join(src, base+".gz"))
		require.NoError(t, err)
		if !gz {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			require.NoError(t, err)
			b, err = io.ReadAll(zr)
			require.NoError(t, err)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, spell(base)), b, 0o644))
	}
	return dir
}

// dotted spells base with a dot before "idx", as some mirrors do.
func dotted(base string) string {
	i := strings.Index(base, "-idx")
	return base[:i] + "." + base[i+1:]
}

// MNIST checks the SHA-256 of every file whatever its spelling: a label
// changed from 7 to 1 (still a valid label) in t10k-labels is caught under
// each of the four names MNIST accepts.
func TestMNISTChecksumEverySpelling(t *testing.T) {
	if testing.Short() {
		t.Skip("loads all of MNIST several times; runs without -short")
	}
	src := mnisttest.Dir(t)
	for _, c := range []struct {
		name  string
		spell func(string) string
		gz    bool
	}{
		{"plain.gz", func(b string) string { return b + ".gz" }, true},
		{"plain", func(b string) string { return b }, false},
		{"dotted", dotted, false},
		{"dotted.gz", func(b string) string { return dotted(b) + ".gz" }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyMNIST(t, src, c.spell, c.gz)
			if c.name == "dotted" {
				// The intact files load (the other spellings are loaded
				// by TestMNISTReal and TestMNISTRecompressedPasses).
				train, test, err := MNIST(dir)
				require.NoError(t, err)
				require.Equal(t, 7, test.Labels()[0])
				require.Equal(t, 60000, train.Len())
			}

			// Corrupt the first test label (offset 8 of the decompressed file).
			p := filepath.Join(dir, c.spell("t10k-labels-idx1-ubyte"))
			raw, _, err := ReadIDXFile(p)
			require.NoError(t, err)
			require.Equal(t, float32(7), raw.Data()[0])
			raw.Data()[0] = 1
			var buf bytes.Buffer
			var w io.Writer = &buf
			zw := gzip.NewWriter(&buf)
			if c.gz {
				w = zw
			}
			require.NoError(t, WriteIDX(w, raw, IDXUint8))
			if c.gz {
				require.NoError(t, zw.Close())
			}
			require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))

			_, _, err = MNIST(dir)
			require.ErrorContains(t, err, p+": SHA-256 of the decompressed data")
			require.ErrorContains(t, err, "differs from the standard MNIST t10k-labels-idx1-ubyte's ff7bcfd4")
			if c.name == "dotted" {
				// FashionMNIST does not check, and sees the change.
				_, test, err := FashionMNIST(dir)
				require.NoError(t, err)
				require.Equal(t, 1, test.Labels()[0])
			}
		})
	}
}

// A file recompressed with other gzip settings holds the same data and
// passes: MNIST checks contents, not the compressed bytes.
func TestMNISTRecompressedPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("loads all of MNIST several times; runs without -short")
	}
	dir := copyMNIST(t, mnisttest.Dir(t), func(b string) string { return b }, false)
	p := filepath.Join(dir, "t10k-labels-idx1-ubyte")
	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	require.NoError(t, err)
	zw.Write(raw)
	require.NoError(t, zw.Close())
	require.NoError(t, os.Remove(p))
	require.NoError(t, os.WriteFile(p+".gz", buf.Bytes(), 0o644))
	_, test, err := MNIST(dir)
	require.NoError(t, err)
	require.Equal(t, 10000, test.Len())
}

// MNIST and FashionMNIST check the element type and rank from the header,
// before reading any data: a header alone (no data) is enough to report a
// wrong type or rank, rather than "data truncated".
func TestMNISTHeaderCheckedFirst(t *testing.T) {
	src := mnisttest.Dir(t)
	for _, c := range []struct {
		file string
		hdr  []byte
		msg  string
	}{
		{"t10k-images-idx3-ubyte", header(0x0C, 10000, 28, 28), "images must be a 3-D uint8 array [N, rows, cols], found a 3-D int32 array [10000 28 28]"},
		{"t10k-images-idx3-ubyte", header(0x08, 10000, 784), "images must be a 3-D uint8 array [N, rows, cols], found a 2-D uint8 array [10000 784]"},
		{"t10k-labels-idx1-ubyte", header(0x0D, 10000), "labels must be a 1-D uint8 array [N], found a 1-D float32 array [10000]"},
		{"t10k-labels-idx1-ubyte", header(0x08, 10000, 1), "labels must be a 1-D uint8 array [N], found a 2-D uint8 array [10000 1]"},
	} {
		// FashionMNIST, on a small dataset in the MNIST layout.
		dir := t.TempDir()
		writeMNISTDir(t, dir, true, 12, 12, 1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, c.file+".gz"), gzBytes(c.hdr), 0o644))
		_, _, err := FashionMNIST(dir)
		require.ErrorContains(t, err, c.file+".gz: offset 2: "+c.msg)
		// MNIST, on the real files with one replaced.
		dir = copyMNIST(t, src, func(b string) string { return b + ".gz" }, true)
		require.NoError(t, os.WriteFile(filepath.Join(dir, c.file+".gz"), gzBytes(c.hdr), 0o644))
		_, _, err = MNIST(dir)
		require.ErrorContains(t, err, c.file+".gz: offset 2: "+c.msg)
	}
	// MNIST also checks the standard dimensions from the header.
	dir := copyMNIST(t, src, func(b string) string { return b + ".gz" }, true)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), gzBytes(header(0x08, 9999)), 0o644))
	_, _, err := MNIST(dir)
	require.ErrorContains(t, err, "t10k-labels-idx1-ubyte.gz: offset 4: dimensions [9999] differ from the standard MNIST t10k-labels-idx1-ubyte's [10000]")
}

// BenchmarkMNISTLoad measures reading, decompressing, verifying and
// converting the four real MNIST files.
func BenchmarkMNISTLoad(b *testing.B) {
	dir := mnisttest.Dir(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := MNIST(dir); err != nil {
			b.Fatal(err)
		}
	}
}
