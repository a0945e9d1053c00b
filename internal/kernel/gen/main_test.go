package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesUpToDate fails when a committed .s file differs from
// what the generator writes: the assembly was edited by hand, or the
// generator changed without `go generate` being run in internal/kernel.
func TestGeneratedFilesUpToDate(t *testing.T) {
	for name, gen := range map[string]func() []byte{"gemm_amd64.s": genGemm, "vec_amd64.s": genVec, "gelu_amd64.s": genGELU, "pool_amd64.s": genPool, "poolwgrad_amd64.s": genPoolWgrad, "affine_amd64.s": genAffine, "softmax_amd64.s": genSoftmax} {
		have, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(have) != string(gen()) {
			t.Errorf("%s is out of date: run go generate in internal/kernel", name)
		}
	}
}
