// Package onnx imports ONNX models, such as those written by
// torch.onnx.export, and runs them in pure Go on shoshin's tensors,
// kernels and autograd ops.
//
//	m, err := onnx.Load("model.onnx")
//	if err != nil {
//		return err // names every unsupported op with its nodes
//	}
//	probs, err := train.Predict(m, x, 64) // a Model is an nn.Module
//
// A Model with one input and one output is an nn.Module: Forward runs the
// graph, Params are the file's float initializers (named as PyTorch's
// state_dict), so train.Predict, train.Fit and the optimizers work on it.
// Run takes and returns every input and output by name.
//
// Each op type resolves once per model through an explicit table, op →
// {since-version: constructor}, to the newest definition not newer than the
// model's opset (13 to 17 are supported). Attributes decode into typed
// fields; an attribute or attribute value the importer does not implement
// is an error, as is any op outside the table, and loading reports every
// one of them with its node names at once: a model either runs as
// exported or does not load.
//
// At inference (train.Predict, an autograd.NoGrad input), Gemm and MatMul
// whose right operand is a weight initializer multiply by it packed once
// into the GEMM's panel layout (nn.PackCache), as Dense does, with Gemm's
// bias fused; a weight changed by an optimizer, nn.LoadStateDict or
// Var.MarkChanged is packed again; 2-D Conv keeps its filters packed the
// same way (autograd.ConvCache). (Load marks every weight initializer
// cacheable, autograd.Var.SetCacheable: code that writes one in place by
// other means must call its MarkChanged.)
//
// Chains of nodes run as the fused kernels native layers use: Conv →
// Relu → MaxPool as autograd.Conv2DReLUMaxPool (the convolution's output
// pooled in cache, never stored), Conv → Relu as Conv2D with its ReLU
// option, Gemm → Relu and MatMul → Add (a bias) → Relu, or MatMul → Add,
// as one packed GEMM with the bias and ReLU in its epilogue at inference.
// A chain is fused only where each intermediate value is read by the next
// node alone and is no graph output; at run time a fused chain falls back
// to the separate ops where the fused kernel does not apply (a 1-D
// convolution, a weight that is not packed, a bias of another shape).
// Results and gradients are those of the separate ops, bit for bit.
//
// Shapes are computed at run time, so dynamic axes such as the batch work.
// Integer tensors (shapes, indices, masks) flow beside the float ones and
// never carry gradients.
//
// The file is decoded with a hand-written reader of the protobuf wire
// format (google.golang.org/protobuf/encoding/protowire) for the subset of
// onnx.proto the importer uses. Its memory stays proportional to the file:
// byte fields are slices of it, every length is checked before anything is
// allocated, and graphs nested in attributes are capped in depth. Tensors
// stored as external data are read from files confined to the model's
// folder.
//
// Export writes our own models as ONNX with PyTorch's parameter names and
// a dynamic first axis, as opset 13 (17 when a layer norm needs ONNX's
// LayerNormalization). It takes Sequentials (nested too) of
//
//   - Dense, Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten,
//     BatchNorm (running statistics), Dropout (dropped), the activation
//     layers and GELU;
//   - Embedding (Gather; a model whose first layer is an Embedding
//     declares its input INT64, as PyTorch does for token ids), LSTM and
//     GRU (one ONNX LSTM or GRU node per layer, gates repacked into
//     ONNX's order, bidirectional and batch-first supported; only the
//     output sequence from a zero state);
//   - LayerNorm, TransformerEncoderLayer (without masks), GPTBlock and
//     GPT (learned positions, causal attention as plain MatMul, Softmax
//     and a constant mask; not rotary).
//
// Any other layer (RNN, Conv1D, rotary attention, ...) is an error naming
// it. A round trip through Export and Load reproduces the original
// outputs bit for bit, except attention, which agrees to float32 rounding.
package onnx
