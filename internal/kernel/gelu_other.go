//go:build !amd64 || purego

package kernel

func gelu(dst, x []float32)         { geluPortable(dst, x) }
func geluGrad(dst, x, dy []float32) { geluGradPortable(dst, x, dy) }
