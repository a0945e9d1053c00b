// Package kernel holds shoshin's hot numeric kernels: float32 GEMM and the
// vector operations used by tensor ops and optimizers. Every kernel has a
// portable Go implementation; assembly versions are selected at start-up on
// CPUs that support them.
package kernel
