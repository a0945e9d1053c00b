//go:build !(amd64 || arm64) || purego

package kernel

func adam(p, g, m, v []float32, a *AdamParams) { adamPortable(p, g, m, v, a) }
