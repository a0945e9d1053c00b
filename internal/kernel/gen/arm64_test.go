package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestARM64Encoders checks the WORD encoders against the encodings an
// assembler (llvm-mc -triple=aarch64 -show-encoding) gives for the same
// instructions, with registers chosen so that every field is non-zero and
// distinct: a swapped or mis-shifted field changes the word.
func TestARM64Encoders(t *testing.T) {
	for _, c := range []struct {
		asm  string
		got  uint32
		want uint32
	}{
		{"fadd v0.4s, v1.4s, v2.4s", fadd4s(0, 1, 2), 0x4e22d420},
		{"fadd v17.4s, v30.4s, v9.4s", fadd4s(17, 30, 9), 0x4e29d7d1},
		{"fmul v3.4s, v4.4s, v5.4s", fmul4s(3, 4, 5), 0x6e25dc83},
		{"fmul v31.4s, v0.4s, v27.4s", fmul4s(31, 0, 27), 0x6e3bdc1f},
		{"fsub v1.4s, v2.4s, v3.4s", fsub4s(1, 2, 3), 0x4ea3d441},
		{"fmin v1.4s, v2.4s, v3.4s", fmin4s(1, 2, 3), 0x4ea3f441},
		{"fdiv v17.4s, v30.4s, v9.4s", fdiv4s(17, 30, 9), 0x6e29ffd1},
		{"fsqrt v17.4s, v30.4s", fsqrt4s(17, 30), 0x6ea1fbd1},
		{"fmax v6.4s, v7.4s, v31.4s", fmax4s(6, 7, 31), 0x4e3ff4e6},
		{"faddp v0.4s, v1.4s, v2.4s", faddp4s(0, 1, 2), 0x6e22d420},
		{"fmaxv s0, v1.4s", fmaxv4s(0, 1), 0x6e30f820},
		{"fmaxv s5, v12.4s", fmaxv4s(5, 12), 0x6e30f985},
	} {
		if c.got != c.want {
			t.Errorf("%s: encoded %#08x, want %#08x", c.asm, c.got, c.want)
		}
	}
}

func TestARM64EncoderRejectsBadRegister(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("fadd4s(32, 0, 0) did not panic")
		}
	}()
	fadd4s(32, 0, 0)
}

// TestGeneratedARM64FilesUpToDate fails when a committed arm64 .s file
// differs from what the generator writes.
func TestGeneratedARM64FilesUpToDate(t *testing.T) {
	for name, gen := range map[string]func() []byte{"gemm_arm64.s": genGemmARM64, "vec_arm64.s": genVecARM64} {
		have, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(have) != string(gen()) {
			t.Errorf("%s is out of date: run go generate in internal/kernel", name)
		}
	}
}
