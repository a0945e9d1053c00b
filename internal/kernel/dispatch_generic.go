//go:build !(amd64 || arm64) || purego

package kernel

// active is the GEMM implementation in use.
var active = portableImpl

// narrow, when not nil, replaces active for outputs at most 16 wide.
var narrow *gemmImpl

// short, when not nil, replaces active for a few rows (see pickImpl).
var short *gemmImpl

// tail, when not nil, computes short last row panels (see tailImpl).
var tail *gemmImpl

// gemmImpls lists every implementation this machine can run, for tests.
func gemmImpls() []*gemmImpl { return []*gemmImpl{portableImpl} }

func axpy(alpha float32, x, y []float32) { axpyPortable(alpha, x, y) }
func scale(alpha float32, x []float32)   { scalePortable(alpha, x) }
func dot(x, y []float32) float32         { return dotPortable(x, y) }
func sum(x []float32) float32            { return sumPortable(x) }
func maxOf(x []float32) float32          { return maxPortable(x) }
func add(dst, a, b []float32)            { addPortable(dst, a, b) }
func mul(dst, a, b []float32)            { mulPortable(dst, a, b) }
func relu(dst, x []float32)              { reluPortable(dst, x) }
func exp(dst, x []float32)               { expPortable(dst, x) }
