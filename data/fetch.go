package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/shoshin-ml/shoshin/internal/atomicfile"
)

// DefaultMNISTMirrors are the base URLs FetchMNIST tries when given none.
var DefaultMNISTMirrors = []string{
	"https://ossci-datasets.s3.amazonaws.com/mnist",
	"https://storage.googleapis.com/cvdf-datasets/mnist",
}

// FetchMNIST downloads the four standard MNIST .gz files into dir (created
// if missing), trying each mirror base URL in turn (DefaultMNISTMirrors
// when none is given). A file already in dir with the right SHA-256 is
// kept. Each download is streamed to a temporary file in dir, checked
// against the standard size and SHA-256, and only then renamed into
// place, so dir never holds a partial or corrupt file under a final name.
//
// Nothing in this package calls FetchMNIST; programs decide whether to go
// to the network.
func FetchMNIST(ctx context.Context, dir string, mirrors ...string) error {
	if len(mirrors) == 0 {
		mirrors = DefaultMNISTMirrors
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, base := range mnistFiles {
		name := base + ".gz"
		dst := filepath.Join(dir, name)
		want := mnistSHA256[name]
		if sum, err := fileSHA256(dst); err == nil && sum == want {
			continue
		}
		var errs []error
		ok := false
		for _, m := range mirrors {
			url := strings.TrimSuffix(m, "/") + "/" + name
			err := fetchFile(ctx, url, dst, mnistSize[name], want)
			if err == nil {
				ok = true
				break
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		if !ok {
			return fmt.Errorf("data.FetchMNIST: could not fetch %s: %w", name, errors.Join(errs...))
		}
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fetchFile downloads url to dst atomically, checking its size and hash.
func fetchFile(ctx context.Context, url, dst string, size int64, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return atomicfile.WriteFile(dst, 0o644, func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(resp.Body, size+1))
		if err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		if n != size {
			return fmt.Errorf("%s: got %d bytes, want %d", url, n, size)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return fmt.Errorf("%s: SHA-256 %s, want %s", url, got, want)
		}
		return nil
	})
}
