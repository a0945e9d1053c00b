//go:build !amd64 || purego

package kernel

func scaleShiftAsm([]float32, []float32, float32, float32, bool) bool { return false }

func scaleAdd2Asm([]float32, []float32, []float32, float32, float32, float32) bool { return false }

func reluMaskSumsAsm([]float32, []float32, []float32, []float32, float32) (float32, float32, bool) {
	return 0, 0, false
}
