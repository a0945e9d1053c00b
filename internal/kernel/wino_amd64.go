//go:build amd64 && !purego

package kernel

// The Winograd transforms' AVX2 kernels (wino_amd64.s): nb ≥ 1 blocks of
// 8 lanes, strides in elements. Each stub's Go twin is the portable
// function of the same name without the suffix (wino.go).

//go:noescape
func winoInAVX2(dst *float32, ds int, src *float32, rs, cs, nb int)

//go:noescape
func winoOutAVX2(dst *float32, os int, src *float32, ss, nb int)

//go:noescape
func winoOutGradAVX2(dst *float32, ds int, src *float32, ss, nb int)

//go:noescape
func winoInGradAddAVX2(dst *float32, rs, cs int, src *float32, ss, nb int)

// The wrappers run the kernels on the largest multiple of 8 lanes and
// report how many they did (the callers have checked the bounds).

func winoInAsm(dst []float32, ds int, src []float32, rs, cs, n int) int {
	if !hasAVX2 || n < 8 {
		return 0
	}
	winoInAVX2(&dst[0], ds, &src[0], rs, cs, n/8)
	return n &^ 7
}

func winoOutAsm(dst []float32, os int, src []float32, ss, n int) int {
	if !hasAVX2 || n < 8 {
		return 0
	}
	winoOutAVX2(&dst[0], os, &src[0], ss, n/8)
	return n &^ 7
}

func winoOutGradAsm(dst []float32, ds int, src []float32, ss, n int) int {
	if !hasAVX2 || n < 8 {
		return 0
	}
	winoOutGradAVX2(&dst[0], ds, &src[0], ss, n/8)
	return n &^ 7
}

func winoInGradAddAsm(dst []float32, rs, cs int, src []float32, ss, n int) int {
	if !hasAVX2 || n < 8 {
		return 0
	}
	winoInGradAddAVX2(&dst[0], rs, cs, &src[0], ss, n/8)
	return n &^ 7
}

//go:noescape
func winoPoolAVX2(dst *float32, win *int32, q *float32, qs int, b *float32, nb int)

//go:noescape
func winoPoolGradAVX2(dy *float32, ds int, gy *float32, win *int32, gb *float32, nb int)

func winoPoolAsm(dst []float32, win []int32, q []float32, qs int, b []float32) int {
	n := len(dst)
	if !hasAVX2 || n < 8 || b == nil {
		return 0
	}
	winoPoolAVX2(&dst[0], &win[0], &q[0], qs, &b[0], n/8)
	return n &^ 7
}

func winoPoolGradAsm(dy []float32, ds int, g []float32, win []int32, gb []float32) int {
	n := len(g)
	if !hasAVX2 || n < 8 || gb == nil {
		return 0
	}
	winoPoolGradAVX2(&dy[0], ds, &g[0], &win[0], &gb[0], n/8)
	return n &^ 7
}
