package kernel

import "strings"

// isaFeature is a set of x86 instruction-set extensions, as bits.
type isaFeature uint16

// The extensions the amd64 assembly may use. Baseline amd64 (SSE2, which
// includes MOVSS and PREFETCHT0) needs no bit.
const (
	featAVX isaFeature = 1 << iota
	featAVX2
	featFMA
	featAVX512F
	featAVX512DQ
	featAVX512BW
	featAVX512VL
	featAVX512VNNI
)

var featNames = []string{"AVX", "AVX2", "FMA", "AVX512F", "AVX512DQ", "AVX512BW", "AVX512VL", "AVX512VNNI"}

// String lists the features of f, such as "AVX|AVX2|FMA".
func (f isaFeature) String() string {
	var names []string
	for i, n := range featNames {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "baseline"
	}
	return strings.Join(names, "|")
}

// kernelSet is a group of assembly kernels that are switched on together.
// An assembly function belongs to the set its name ends with (adamAVX2,
// kern12x32AVX512).
type kernelSet uint8

const (
	setAVX2   kernelSet = iota // vector kernels, Adam, the 6×16 GEMM kernel and the int8 VPMADDUBSW kernels
	setAVX512                  // the 12×32 GEMM kernel
	setVNNI                    // the int8 VPDPBUSD kernels
)

// kernelSetNeeds lists, per kernel set, every extension that the
// instructions of its assembly need. TestAsmFeaturesGated reads the .s
// files and fails when an instruction needs an extension missing here, so
// that a new instruction cannot slip past the gate. setAVX512 also needs
// what setAVX2 needs, because the AVX-512 GEMM runs beside the AVX2 vector
// kernels and the AVX2 kernel for narrow outputs.
var kernelSetNeeds = [...]isaFeature{
	setAVX2:   featAVX | featAVX2 | featFMA,
	setAVX512: featAVX | featAVX2 | featFMA | featAVX512F,
	setVNNI:   featAVX | featAVX2 | featFMA | featAVX512F | featAVX512VNNI,
}

// supports reports whether a CPU with the features have may run the
// kernels of set s. It is the only gate between the CPU and the assembly.
func (have isaFeature) supports(s kernelSet) bool {
	need := kernelSetNeeds[s]
	return have&need == need
}

// cpuFlags are the x/sys/cpu flags the gate reads (they already include
// the operating system's support for the YMM and ZMM register state).
type cpuFlags struct {
	AVX, AVX2, FMA, AVX512F, AVX512DQ, AVX512BW, AVX512VL, AVX512VNNI bool
}

// features converts flags to a feature set.
func (c cpuFlags) features() isaFeature {
	var f isaFeature
	for i, has := range []bool{c.AVX, c.AVX2, c.FMA, c.AVX512F, c.AVX512DQ, c.AVX512BW, c.AVX512VL, c.AVX512VNNI} {
		if has {
			f |= 1 << i
		}
	}
	return f
}
