//go:build !amd64 || purego

package kernel

func maxPool2x2Asm([]float32, []int32, []float32, int, int, int, bool) bool { return false }

func maxPool2x2GradAsm([]float32, []float32, []int32, []float32, int, int, int) bool {
	return false
}
