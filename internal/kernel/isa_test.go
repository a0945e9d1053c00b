package kernel

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKernelSetGate(t *testing.T) {
	avx2 := cpuFlags{AVX: true, AVX2: true, FMA: true}
	avx512 := avx2
	avx512.AVX512F = true
	cases := []struct {
		name        string
		cpu         cpuFlags
		avx2, avx51 bool
	}{
		{"none", cpuFlags{}, false, false},
		{"AVX only", cpuFlags{AVX: true}, false, false},
		{"AVX2 without FMA", cpuFlags{AVX: true, AVX2: true}, false, false},
		{"FMA without AVX2", cpuFlags{AVX: true, FMA: true}, false, false},
		{"AVX2+FMA", avx2, true, false},
		{"AVX512F", avx512, true, true},
		{"AVX512F+DQ+BW+VL", cpuFlags{AVX: true, AVX2: true, FMA: true, AVX512F: true, AVX512DQ: true, AVX512BW: true, AVX512VL: true}, true, true},
		{"AVX512F without FMA", cpuFlags{AVX: true, AVX2: true, AVX512F: true, AVX512DQ: true}, false, false},
		{"AVX512F without AVX2", cpuFlags{AVX: true, FMA: true, AVX512F: true, AVX512DQ: true}, false, false},
		{"AVX-512 extensions without AVX512F", cpuFlags{AVX: true, AVX2: true, FMA: true, AVX512DQ: true, AVX512BW: true, AVX512VL: true}, true, false},
	}
	for _, c := range cases {
		f := c.cpu.features()
		require.Equal(t, c.avx2, f.supports(setAVX2), "%s (%v): AVX2 set", c.name, f)
		require.Equal(t, c.avx51, f.supports(setAVX512), "%s (%v): AVX-512 set", c.name, f)
	}
	require.Equal(t, "AVX|AVX2|FMA|AVX512F", kernelSetNeeds[setAVX512].String())
	vnni := avx512
	vnni.AVX512VNNI = true
	require.True(t, vnni.features().supports(setVNNI), "AVX512F+VNNI: VNNI set")
	require.False(t, avx512.features().supports(setVNNI), "AVX512F without VNNI: VNNI set")
	noF := cpuFlags{AVX: true, AVX2: true, FMA: true, AVX512VNNI: true}
	require.False(t, noF.features().supports(setVNNI), "VNNI without AVX512F: VNNI set")
	require.Equal(t, "baseline", isaFeature(0).String())
}

// isaReq is what an instruction needs, by the widest register it names.
type isaReq struct{ gpr, xmm, ymm, zmm isaFeature }

// noForm marks an operand width the instruction has no encoding for.
const noForm isaFeature = 1 << 15

var (
	baseline = isaReq{}
	// vexFP is an AVX floating-point instruction with an AVX-512
	// foundation (EVEX) form.
	vexFP = isaReq{gpr: featAVX, xmm: featAVX, ymm: featAVX, zmm: featAVX512F}
	// vexInt is an integer instruction: 256-bit needs AVX2.
	vexInt = isaReq{xmm: featAVX, ymm: featAVX2, zmm: featAVX512F}
	fma    = isaReq{xmm: featFMA, ymm: featFMA, zmm: featAVX512F}
	// evex is an instruction (or operand form) that exists only in the
	// EVEX encoding: AVX512F, plus AVX512VL on XMM and YMM.
	evex = isaReq{xmm: featAVX512F | featAVX512VL, ymm: featAVX512F | featAVX512VL, zmm: featAVX512F}
)

// asmFeatures maps every mnemonic our assembly uses to the extensions it
// needs (Intel SDM, "CPUID feature flag" of each encoding). A mnemonic
// missing here fails TestAsmFeaturesGated: add it with its features.
var asmFeatures = map[string]isaReq{
	"ADDQ": baseline, "ANDL": baseline, "CMPQ": baseline, "DECQ": baseline, "JAE": baseline,
	"JB": baseline, "JMP": baseline, "JNZ": baseline, "JZ": baseline, "LEAQ": baseline, "MOVL": baseline,
	"MOVQ": baseline, "RET": baseline, "SHLQ": baseline, "SHRQ": baseline, "SUBQ": baseline,
	"TESTL": baseline, "TESTQ": baseline, "JLE": baseline, "JLT": baseline, "JGE": baseline, "XORQ": baseline,
	// SSE/SSE2 are part of baseline amd64.
	"MOVSS": baseline, "PREFETCHT0": baseline,
	// PCALIGN is an assembler directive: it pads with multi-byte NOPs.
	"PCALIGN": baseline,

	"VADDPS": vexFP, "VSUBPS": vexFP, "VMULPS": vexFP, "VDIVPS": vexFP, "VSQRTPS": vexFP,
	"VMAXPS": vexFP, "VMINPS": vexFP, "VMOVUPS": vexFP, "VMOVAPS": vexFP, "VCVTPS2DQ": vexFP,
	"VPERMILPS": vexFP, "VUNPCKLPS": vexFP, "VUNPCKHPS": vexFP, "VSHUFPS": vexFP,
	"VHADDPS": vexFP,
	// VPERM2F128 exists only on YMM (VSHUFF32X4 on ZMM).
	"VPERM2F128": {xmm: noForm, ymm: featAVX, zmm: noForm},
	// EVEX VCMPPS writes a mask register, not a vector: its ZMM form (the
	// AVX-512 GELU kernel's) is AVX512F.
	"VCMPPS":     {xmm: featAVX, ymm: featAVX, zmm: featAVX512F},
	"VMOVMSKPS":  {xmm: featAVX, ymm: featAVX, zmm: noForm},
	"VROUNDPS":   {xmm: featAVX, ymm: featAVX, zmm: noForm}, // VRNDSCALEPS on ZMM
	"VRCPPS":     {xmm: featAVX, ymm: featAVX, zmm: noForm}, // VRCP14PS on ZMM
	"VZEROUPPER": {gpr: featAVX, xmm: featAVX, ymm: featAVX, zmm: noForm},
	// VEXTRACTF128 reads a YMM and writes an XMM.
	"VEXTRACTF128": {xmm: featAVX, ymm: featAVX, zmm: noForm},
	// The bitwise float ops exist on ZMM only with AVX512DQ.
	"VXORPS": {xmm: featAVX, ymm: featAVX, zmm: featAVX512DQ},
	"VORPS":  {xmm: featAVX, ymm: featAVX, zmm: featAVX512DQ},
	"VANDPS": {xmm: featAVX, ymm: featAVX, zmm: featAVX512DQ},
	// VPXORD is EVEX only: AVX512F on ZMM, plus AVX512VL on XMM/YMM.
	"VPXORD": {xmm: featAVX512F | featAVX512VL, ymm: featAVX512F | featAVX512VL, zmm: featAVX512F},
	// VBROADCASTSS from memory is AVX; from a register it is AVX2, which
	// is assumed for both forms.
	"VBROADCASTSS": {xmm: featAVX2, ymm: featAVX2, zmm: featAVX512F},
	// VPBROADCASTD from a general register exists only in EVEX.
	"VPBROADCASTD": {xmm: featAVX2, ymm: featAVX2, zmm: featAVX512F},
	"VPADDD":       vexInt, "VPSUBD": vexInt, "VPSLLD": vexInt, "VPSRAD": vexInt, "VPSRLD": vexInt,
	// Pooling kernels. EVEX VPCMPEQD writes a mask register; VBLENDVPS is
	// VEX only; VPERMPD has no XMM form.
	"VPCMPEQD":    {xmm: featAVX, ymm: featAVX2, zmm: noForm},
	"VBLENDVPS":   {xmm: featAVX, ymm: featAVX, zmm: noForm},
	"VPERMPD":     {xmm: noForm, ymm: featAVX2, zmm: featAVX512F},
	"VANDNPS":     {xmm: featAVX, ymm: featAVX, zmm: featAVX512DQ},
	"VFMADD231PS": fma, "VFMADD213PS": fma, "VFNMADD231PS": fma,
	// int8 kernels. The byte/word ops exist on ZMM only with AVX512BW.
	"VMOVDQU": {xmm: featAVX, ymm: featAVX, zmm: noForm}, "VMOVDQU64": {xmm: featAVX512F | featAVX512VL, ymm: featAVX512F | featAVX512VL, zmm: featAVX512F},
	"VPXOR": {xmm: featAVX, ymm: featAVX2, zmm: noForm}, "VPHADDD": {xmm: featAVX, ymm: featAVX2, zmm: noForm},
	"VPCMPEQW": {xmm: featAVX, ymm: featAVX2, zmm: noForm}, "VPSRLW": {xmm: featAVX, ymm: featAVX2, zmm: featAVX512BW},
	"VPMADDUBSW": {xmm: featAVX, ymm: featAVX2, zmm: featAVX512BW}, "VPMADDWD": {xmm: featAVX, ymm: featAVX2, zmm: featAVX512BW},
	"VEXTRACTI128": {xmm: featAVX2, ymm: featAVX2, zmm: noForm}, "VEXTRACTI64X4": {zmm: featAVX512F},
	// VPDPBUSD on XMM/YMM is either AVX-VNNI (VEX) or AVX512VNNI+VL; only
	// the ZMM form is used.
	"VPDPBUSD":   {xmm: noForm, ymm: noForm, zmm: featAVX512F | featAVX512VNNI},
	"VCVTTPS2DQ": vexFP, "VPERMD": {xmm: noForm, ymm: featAVX2, zmm: featAVX512F},
	"VPACKSSDW": {xmm: featAVX, ymm: featAVX2, zmm: featAVX512BW}, "VPACKUSWB": {xmm: featAVX, ymm: featAVX2, zmm: featAVX512BW},
	"VPMINUB":    {xmm: featAVX, ymm: featAVX2, zmm: featAVX512BW},
	"VSHUFI64X2": {xmm: noForm, ymm: featAVX512F | featAVX512VL, zmm: featAVX512F},
	// int8 quantiser and epilogue. VPAND is VPANDD on ZMM.
	"ANDQ": baseline, "VPAND": {xmm: featAVX, ymm: featAVX2, zmm: noForm}, "VPMAXUD": vexInt,
	"VPSHUFD": vexInt, "VPMULLD": vexInt, "VCVTDQ2PS": vexFP, "VMOVD": {xmm: featAVX, ymm: noForm, zmm: noForm},
	"CMPL": baseline, "NEGQ": baseline, "VMASKMOVPS": {xmm: featAVX, ymm: featAVX, zmm: noForm}, "VPMASKMOVD": {xmm: featAVX2, ymm: featAVX2, zmm: noForm},
	"VXORPD": {xmm: featAVX, ymm: featAVX, zmm: featAVX512DQ},
	// Scalar VEX float ops (XMM only).
	"VPSLLW": {xmm: featAVX, ymm: featAVX2, zmm: featAVX512BW}, "VPOR": {xmm: featAVX, ymm: featAVX2, zmm: noForm},
	"VPTEST": {xmm: featAVX, ymm: featAVX, zmm: noForm},
	"VSUBSS": vexFP, "VDIVSS": vexFP, "VMOVSS": vexFP, "VMOVSD": vexFP, "VMULSS": vexFP, "VADDSS": vexFP,
	"VSUBSD": vexFP, "VADDSD": vexFP, "VDIVSD": vexFP, "VSQRTSD": vexFP, "VROUNDSD": vexFP, "VCVTSS2SD": vexFP, "VCVTSD2SS": vexFP,
	"VCVTTSS2SI": vexFP,
	// The masked narrow GEMM kernel: zero-masking loads and broadcast
	// FMAs are EVEX forms; the mask register moves are AVX512F.
	"VMOVUPS.Z":        {xmm: featAVX512F | featAVX512VL, ymm: featAVX512F | featAVX512VL, zmm: featAVX512F},
	"VFMADD231PS.BCST": {xmm: featAVX512F | featAVX512VL, ymm: featAVX512F | featAVX512VL, zmm: featAVX512F},
	"KMOVW":            {gpr: featAVX512F},
	// The AVX-512 GELU kernel: broadcast and zero-masking operands and
	// the EVEX-only VPANDD, VRCP14PS and VRNDSCALEPS.
	"VPANDD.BCST": evex, "VFMADD213PS.BCST": evex, "VFNMADD231PS.BCST": evex, "VMINPS.BCST": evex,
	"VMULPS.BCST": evex, "VPADDD.BCST": evex, "VMULPS.Z": evex, "VSUBPS.Z": evex, "VRCP14PS": evex,
	"VRNDSCALEPS": evex,
	// Pooled weight gradient (poolwgrad_amd64.s).
	"MOVLQSX": baseline, "CMOVQGE": baseline,
}

var (
	textRE = regexp.MustCompile(`^TEXT ·(\w+)\(SB\)`)
	zmmRE  = regexp.MustCompile(`\bZ([0-9]+)\b`)
	ymmRE  = regexp.MustCompile(`\bY([0-9]+)\b`)
	xmmRE  = regexp.MustCompile(`\bX([0-9]+)\b`)
	highRE = regexp.MustCompile(`\b[XY](1[6-9]|2[0-9]|3[01])\b`)
)

// instrNeeds returns the features one instruction needs, or ok false when
// the mnemonic is not in asmFeatures.
func instrNeeds(mnemonic, operands string) (need isaFeature, ok bool) {
	req, ok := asmFeatures[mnemonic]
	if !ok {
		return 0, false
	}
	switch {
	case zmmRE.MatchString(operands):
		need = req.zmm
	case ymmRE.MatchString(operands):
		need = req.ymm
	case xmmRE.MatchString(operands):
		need = req.xmm
	default:
		need = req.gpr
	}
	if highRE.MatchString(operands) {
		// X16–X31 and Y16–Y31 exist only in the EVEX encoding, which on
		// XMM and YMM needs AVX512VL besides the instruction's AVX-512
		// feature.
		need = req.zmm | featAVX512VL
	}
	return need, true
}

// setOf returns the kernel set an assembly function belongs to by its name.
func setOf(fn string) (kernelSet, bool) {
	switch {
	case strings.HasSuffix(fn, "AVX512"):
		return setAVX512, true
	case strings.HasSuffix(fn, "AVX2"):
		return setAVX2, true
	case strings.HasSuffix(fn, "VNNI"):
		return setVNNI, true
	}
	return 0, false
}

// TestAsmFeaturesGated reads every amd64 .s file of the package (generated and
// hand-written), works out the extensions each function's instructions
// need from asmFeatures, and checks that the gate of the function's
// kernel set requires all of them. It lists the mnemonics per set so the
// audit can be read in the test log (go test -v -run AsmFeatures).
func TestAsmFeaturesGated(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	used := map[kernelSet]map[string]isaFeature{setAVX2: {}, setAVX512: {}, setVNNI: {}}
	funcs := 0
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		fn, line := "", 0
		var set kernelSet
		for sc.Scan() {
			line++
			text := sc.Text()
			if m := textRE.FindStringSubmatch(text); m != nil {
				fn = m[1]
				var ok bool
				set, ok = setOf(fn)
				require.True(t, ok, "%s:%d: function %s does not name its kernel set (suffix AVX2 or AVX512)", name, line, fn)
				funcs++
				continue
			}
			if !strings.HasPrefix(text, "\t") {
				continue // labels, directives, comments, blank lines
			}
			text = strings.TrimSpace(text)
			if i := strings.Index(text, "//"); i >= 0 {
				text = strings.TrimSpace(text[:i])
			}
			if text == "" {
				continue
			}
			mnemonic, operands, _ := strings.Cut(text, " ")
			if mnemonic == "DATA" || mnemonic == "GLOBL" {
				continue
			}
			require.NotEmpty(t, fn, "%s:%d: instruction outside a function", name, line)
			need, ok := instrNeeds(mnemonic, operands)
			require.True(t, ok, "%s:%d: %s is not in asmFeatures; add it with the CPU features it needs", name, line, mnemonic)
			require.Zero(t, need&noForm, "%s:%d: %q has no encoding for these registers", name, line, text)
			gate := kernelSetNeeds[set]
			require.Equal(t, need, need&gate, "%s:%d: %s in %s: %q needs %v, but the gate of its kernel set requires only %v",
				name, line, mnemonic, fn, text, need, gate)
			used[set][mnemonic] |= need
		}
		require.NoError(t, sc.Err())
		require.NoError(t, f.Close())
	}
	require.GreaterOrEqual(t, funcs, 12)
	for set, m := range used {
		var all isaFeature
		var list []string
		for mn, need := range m {
			all |= need
			list = append(list, mn+"("+need.String()+")")
		}
		slices.Sort(list)
		t.Logf("kernel set %d (gate %v) uses %v: %s", set, kernelSetNeeds[set], all, strings.Join(list, " "))
	}
}

// TestInstrNeeds pins the table on the cases that motivated it.
func TestInstrNeeds(t *testing.T) {
	for _, c := range []struct {
		ins, ops string
		want     isaFeature
	}{
		{"VXORPS", "Z0, Z0, Z0", featAVX512DQ},
		{"VPXORD", "Z0, Z0, Z0", featAVX512F},
		{"VXORPS", "Y0, Y0, Y0", featAVX},
		{"VFMADD231PS", "Y1, Y2, Y3", featFMA},
		{"VFMADD231PS", "Z24, Z26, Z0", featAVX512F},
		{"VPADDD", "expBias<>(SB), Y1, Y1", featAVX2},
		{"VMOVUPS", "(SI), Y17", featAVX512F | featAVX512VL},
		{"MOVQ", "x+0(FP), SI", 0},
	} {
		got, ok := instrNeeds(c.ins, c.ops)
		require.True(t, ok, c.ins)
		require.Equal(t, c.want, got, "%s %s", c.ins, c.ops)
	}
	_, ok := instrNeeds("VPTERNLOGD", "$0xff, Z0, Z0, Z0")
	require.False(t, ok, "unknown mnemonics must be reported")
}
