package autograd

// Arena is placeholder-free storage for inference buffers; see NoGrad.
type Arena struct{}
