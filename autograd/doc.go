// Package autograd is shoshin's reverse-mode automatic differentiation
// engine.
//
// A Var holds a value (a *tensor.Tensor), the gradient accumulated into it,
// and the op that produced it. Ops are package functions — Add, MatMul,
// Linear, ReLU, LogSoftmax, ... — and a user's own op, written as a Function
// and run with Apply, looks exactly like a built-in one. Graphs are built as
// the program runs (define-by-run); Backward on a scalar walks them once in
// reverse topological order, accumulates into the Grad of every Var that
// requires one, and releases the intermediates so memory does not grow across
// training steps. Gradients accumulate across Backward calls until ZeroGrad.
//
//	w := autograd.NewVar(tensor.RandN(rng, 0, 0.1, 10, 784)) // trainable
//	x := autograd.Constant(batch)                            // data
//	loss := autograd.Mean(autograd.Square(autograd.Linear(x, w, nil)), false)
//	loss.Backward()
//	fmt.Println(w.Grad())
//
// Broadcasting follows NumPy's rules in every element-wise op, and each
// backward sums the gradient back to its input's shape.
//
// Inference runs without recording: NoGrad(t) marks input data as
// inference-mode, and every op that touches it records nothing even though
// the model's parameters require gradients. The mode travels with the data,
// so many goroutines can run one model at once; Var.Inference reports it,
// and layers with a training mode evaluate such inputs whatever their mode.
// An Arena goes further and
// supplies every op's output buffer, so a repeated forward pass allocates
// nothing once warm.
//
// Training steps use an arena too: Arena.Constant marks the batch, and the
// ops downstream of it record their backward as usual while drawing their
// outputs, their graph records, the gradients they pass to each other and
// Backward's bookkeeping from the arena. The buffers are recycled at the
// next Reset, so a step repeated with the same shapes allocates no tensor
// data once warm, and the ops of a language model's step (Linear, Reshape,
// Add, EmbeddingIDs, AddPositions, the recurrent stacks, Stack,
// SwapLeadingAxes, the element-wise activations, SoftmaxCrossEntropy)
// allocate no records either: they keep what their backward needs in the
// arena's recycled graph records, or, like the recurrent stacks, in an op
// state the arena hands back the next step. The rule: what the
// arena handed out since the last Reset — op outputs, the loss, passed
// gradients — is valid until the next Reset; gradients accumulated into
// leaves (parameters' Grad) belong to the leaves and stay valid. train.Fit
// works this way.
//
// # Sequence ops
//
// LinearGELU is Linear followed by the exact GELU as one op, as a
// transformer's feed-forward block uses it: the bias and the GELU are
// applied to each product row while it is in cache, and the GELU's
// derivative, kept in place of the pre-activation, turns the backward's
// GELU into one product per element, with the bias gradient summed in the
// same pass. LinearResidual is res + Linear(x, w, b) as one op, a
// transformer block's residual line: the residual is added to each block
// of product rows as the GEMM finishes it (the same bits as Add), and the
// backward hands the output's gradient to res as it is.
//
// MatMul broadcasts batch axes like torch.matmul ([B,H,T,D]·[B,H,D,S],
// [B,T,D]·[D,E]) and passes transposes to GEMM as flags; the gradient of a
// broadcast operand is summed inside the GEMM calls. Embedding gathers rows
// and scatter-adds their gradient (repeated ids accumulate, a padding id
// gets none); AddPositions adds a positional table's rows to a batch of
// sequences. Split, Chunk, MaskedFill, Where, Tril, Triu and CausalMask
// cover masking and slicing. ScaledDotProductAttention computes
// softmax(q·kᵀ/√d + mask)·v as one op over 4-D [B, H, T, D] or heads-last
// 3-D [B, T, E] inputs, with causal, key-padding and additive masks and
// attention dropout: each (batch, head) pair's [T, S] scores live only in a
// per-worker scratch block, the forward saves one log-sum-exp per query and
// the backward recomputes the probabilities (and regenerates the dropout
// masks from a seed). SelfAttention reads q, k and v in place from a packed
// [B, T, 3E] projection; without masks other than the causal one and
// without dropout (a GPT's attention) it keeps the forward's exponentials
// instead (B·H·T·(S+32) floats), and the backward reads them rather than
// multiplying the scores again. AttentionWeights materialises the probabilities
// when they are wanted. Rotary applies rotary position embeddings; Conv1D,
// MaxPool1D and AvgPool1D run the 2-D machinery on a height-1 view.
//
// # Convolutions
//
// Conv2D unfolds each sample into a column matrix (im2col) and multiplies
// it by the filters in one GEMM, with the bias as one more column of the
// filters against a row of ones and an optional ReLU applied while the
// output is in cache; samples are spread over the workers. Its backward
// takes the weight and bias gradients from one GEMM per sample (summed per
// worker, then in a fixed order) and the input gradient from another; it
// reads the columns the forward pass kept when training under an arena
// (which reuses that buffer from step to step) and unfolds the input again
// otherwise. Conv2DReLUMaxPool is
// Conv2D with ReLU followed by MaxPool2D as one op: each sample's
// convolution output is pooled in a per-worker scratch buffer and never
// stored, and the backward scatters the pooled gradient back sample by
// sample; on this path values and gradients equal the three ops', bit
// for bit (a layer on the Winograd path below equals them up to float32
// rounding). When
// its input wants no gradient (a first layer) and its filters are small,
// the weight gradient is summed over the pooled windows' winners alone,
// without scattering the pooled gradient or unfolding the input again
// (equal to the dense sums up to float32 rounding).
//
// BatchNormReLU is BatchNorm followed by ReLU as one op (nn.Sequential
// runs a training-mode BatchNorm and a ReLU with it), without the ReLU's
// tensor and its passes over memory. BatchNormReLUMaxPool adds a 2×2
// max-pooling with stride 2 (nn.Sequential runs BatchNorm2D, ReLU and
// MaxPool2D with it): each plane is normalised into a cached scratch
// plane and pooled from there, keeping the winners and their inputs, and
// the backward takes BatchNorm's sums over the winners alone and writes
// the input gradient in one pass per plane. Conv2DBatchNormReLUMaxPool
// puts a convolution in front; for a first layer (one input channel, 3×3
// filters, an input without gradient) it takes the statistics from the
// 9×9 Gram matrix of the input's patches, folds the normalisation into the
// filters, runs Conv2DReLUMaxPool's forward with them, and takes every
// gradient from ten sums per channel over the pooling winners.
//
// A 3×3, unit-stride layer with 16 channels or more in and out trains in
// the Winograd F(2×2, 3×3) form instead (the forward, the input gradient
// and the weight gradient as 16 GEMMs each over transformed tiles, with
// the channels innermost so that the transforms run as vector code): 4
// multiply-adds per output instead of 9, and under Conv2DReLUMaxPool's
// 2×2 pooling only the tiles under its windows, one per pooled output.
// Its results equal the im2col path's up to float32 rounding.
//
// At inference, a ConvCache runs both with the filters packed once (for a
// weight marked cacheable, Var.SetCacheable) as an implicit GEMM: each
// filter tap multiplies a shifted view of the zero-padded image, read in
// place by the GEMM micro-kernel, and the taps are summed in registers, so
// that no column matrix is built or packed per call. Layers with many
// input channels compute [positions, outC] tiles (a tap then has one step
// per channel) and transpose in the epilogue that adds the bias,
// rectifies and pools; the first layer of an image model (few channels)
// computes [outC, positions] over shifted copies of the image, and pools
// with the vector kernel. A 3×3 layer with many channels followed by 2×2
// pooling takes the Winograd F(2×2, 3×3) form instead, one tile per
// pooling window (4 multiply-adds per output instead of 9). nn.Conv2D and
// the onnx importer keep one per convolution; outputs equal the training
// path's up to float32 rounding.
//
// CheckGrad compares analytic gradients with Richardson-extrapolated
// central differences, element by element and along a few directions per
// input, with tolerances that allow for float32 rounding; its defaults
// catch a gradient off by 0.5%. Every op here is tested with it.
//
// LSTM, GRU and RNN are fused recurrent ops: one matrix product projects
// the inputs of every step, each step adds one recurrent product and
// computes its gates in one pass, and the backward pass forms the weight
// gradients as single large products. They take per-sequence lengths
// (padded steps keep the state and get no gradient) and run either
// direction in time; nn's recurrent layers and cells are built on them.
// LSTMStack, GRUStack and RNNStack run several such layers as one op, a
// wavefront in which each layer works a few steps behind the one below
// (and, backwards, ahead of it) on its own core, with the results of
// chaining the single-layer ops to float32 rounding.
package autograd
