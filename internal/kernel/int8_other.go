//go:build !amd64 || purego

package kernel

// int8Impls lists every int8 implementation this machine can run.
func int8Impls() []*int8Impl { return []*int8Impl{int8Portable} }
