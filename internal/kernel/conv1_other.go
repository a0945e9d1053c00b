//go:build !amd64 || purego

package kernel

func conv3x3PoolFits(int) bool { return false }

func conv3x3PoolAsm(*float32, *int32, *float32, *conv3x3Params, int, int, int, int, int) {
	panic("kernel: no 3×3 convolution kernel")
}
