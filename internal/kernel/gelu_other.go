//go:build !amd64 || purego

package kernel

func gelu(dst, x []float32)         { geluPortable(dst, x) }
func geluGrad(dst, x, dy []float32) { geluGradPortable(dst, x, dy) }

func geluBiasDeriv(dst, der, pre, bias []float32) { geluBiasDerivPortable(dst, der, pre, bias) }
