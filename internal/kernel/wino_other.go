//go:build !amd64 || purego

package kernel

func winoInAsm([]float32, int, []float32, int, int, int) int { return 0 }

func winoOutAsm([]float32, int, []float32, int, int) int { return 0 }

func winoOutGradAsm([]float32, int, []float32, int, int) int { return 0 }

func winoInGradAddAsm([]float32, int, int, []float32, int, int) int { return 0 }

func winoPoolAsm([]float32, []int32, []float32, int, []float32) int { return 0 }

func winoPoolGradAsm([]float32, int, []float32, []int32, []float32) int { return 0 }
