// Package nn provides neural-network layers, their composition and
// initialisation: everything a model is built from.
//
// # The Module interface
//
// A layer or a whole model is a Module:
//
//	type Module interface {
//		Forward(x *autograd.Var) *autograd.Var
//		Params() []*Param
//	}
//
// A Param is a trainable *autograd.Var with a hierarchical name such as
// "0.weight" that matches the key PyTorch uses in a state_dict, so a model
// saved here loads into the equivalent PyTorch model and back. Sequential
// names its children by index ("1.0.weight" for a Sequential inside a
// Sequential) through views that share each child's Var (see ParamViews):
// the children keep their own names, so a trained model wrapped in a
// Sequential still saves and loads on its own.
//
// Optional interfaces add the rest: Container (Children) lets SetTraining,
// Train and Eval reach every layer; Moder (SetTraining, Training) is what
// Dropout and BatchNorm implement; BufferOwner (Buffers) exposes state that
// is saved but not trained, such as BatchNorm's running statistics.
//
// # Layers
//
//   - Dense (PyTorch's Linear, with an optional fused activation)
//   - Conv2D (NCHW, stride, padding, dilation, groups; im2col + GEMM; in a
//     Sequential, a ReLU Conv2D and the MaxPool2D after it run as one op)
//   - MaxPool2D, AvgPool2D, GlobalAvgPool2D
//   - BatchNorm1D and BatchNorm2D (NewBatchNorm1D, NewBatchNorm2D; in a
//     Sequential in training mode, a BatchNorm and the ReLU after it, a
//     BatchNorm2D, ReLU and 2×2 MaxPool2D, or a first one-channel 3×3
//     Conv2D with those three, run as one op), LayerNorm
//   - Dropout
//   - Flatten
//   - ReLU, LeakyReLU, GELU, Sigmoid, Tanh, Softmax, LogSoftmax
//   - Sequential and Residual (x + f(x)) to compose them
//
// # Sequence layers
//
// Sequences are batch-first, [B, T, E] (PyTorch's batch_first=True).
//
//   - Embedding (weight [num, dim], N(0, 1); NewEmbeddingPadded for
//     padding_idx); Forward reads ids from a Var's values, Lookup takes
//     []int and reports bad ids as errors
//   - MultiheadAttention (in_proj_weight [3E, E], in_proj_bias,
//     out_proj.{weight,bias}): Forward is self-attention, Attend takes
//     query, key and value with causal, key-padding (true = may not
//     attend) and additive masks and can return head-averaged weights
//   - TransformerEncoderLayer (PyTorch's names: self_attn.*, linear1,
//     linear2, norm1, norm2; pre- or post-norm, ReLU or GELU, dropout),
//     configured by TransformerConfig, and TransformerEncoder, a stack of
//     them with an optional final norm (layers.N.*, norm.*)
//   - GPTBlock, a nanoGPT decoder block (ln_1, attn.c_attn, attn.c_proj,
//     ln_2, mlp.c_fc, mlp.c_proj; causal), configured by GPTConfig,
//     optionally with rotary position embeddings; Decode runs it on new
//     tokens over a per-sequence KVCache for generation
//   - GPT, nanoGPT's language model (transformer.wte, transformer.wpe,
//     transformer.h.N, transformer.ln_f, lm_head) with its
//     initialisation, configured by GPTModelConfig; Decode steps
//     per-sequence caches
//   - PositionalEmbedding (learned), SinusoidalPositionalEncoding, Rotary
//   - Conv1D, MaxPool1D, AvgPool1D
//   - RNN, LSTM, GRU and their cells
//   - RNNLM, a recurrent language model (embed, an LSTM or GRU rnn, head)
//   - Decoder and IncrementalLM: GPT.NewDecoder and RNNLM.NewDecoder
//     decode a batch of sequences a few tokens at a time over the caches
//     or the recurrent state (train.Generate uses them)
//
// The attention layers run autograd's fused ScaledDotProductAttention,
// which never keeps a [T, T] score block per head. Deliberate differences
// from PyTorch are listed on each type: MultiheadAttention returns weights
// only when asked (need_weights defaults to true in PyTorch) and before
// attention dropout, a query whose keys are all masked yields zeros instead
// of NaN, and Dropout's zero value means none where PyTorch defaults to 0.1.
// nn/testdata/seq_torch.py writes the PyTorch fixtures that the tests match
// outputs and every gradient against.
//
// Build layers with their constructors (NewDense, NewBatchNorm2D, ...). A
// layer's zero value either works like the constructed layer (Softmax{}
// and LogSoftmax{} normalise over the last axis; ReLU{}, Flatten{},
// Sequential{} and Dropout{}, which drops nothing, are ready to use) or
// panics on Forward with a message naming the constructor to call.
//
// Layers are configured with options (WithActivation, WithPadding,
// WithSeed, ...) and initialised like PyTorch's by default; the
// initializers (GlorotUniform, HeNormal, KaimingUniform, ...) can replace
// the defaults. Every source of randomness is seeded: a layer built without
// WithSeed or WithRand draws from a package-level source with a fixed seed
// (see SetSeed), so building the same model twice gives the same weights.
// Dropout keeps drawing from its generator while training; RNGState and
// SetRNGState save and restore every such generator (any layer that
// implements RNGStater), so a run resumed from a checkpoint draws the same
// masks as one that never stopped.
//
// Summary prints a Keras-like table of a model's layers, output shapes,
// activations and parameter counts. OutputActivation tells what a model
// applies last (softmax, log-softmax, sigmoid, ..., or nothing), so that
// training code can match a loss to the model's output.
//
// # Training and inference
//
// Layers start in training mode. Eval(model) switches every layer to
// evaluation: Dropout becomes the identity and BatchNorm uses its running
// statistics without updating them. Evaluation also travels with the call:
// an input in inference mode (autograd.NoGrad or Arena.Input) is evaluated
// whatever the layers' mode, so prediction never has to switch a model's
// mode, and a layer with a training mode must honour x.Inference() (see
// Moder). Such forwards keep no mutable state, so one model may serve many
// goroutines at once, even while it is in training mode; give each
// goroutine its own autograd.Arena so that repeated inference reuses its
// buffers:
//
//	arena := autograd.NewArena()
//	arena.Reset()
//	probs := model.Forward(arena.Input(batch))
//
// After PackForInference(model) (serve.New calls it; onnx models have it
// set), Dense multiplies at inference by its weight packed once into the
// GEMM's panel layout, with the bias and a ReLU or GELU fused into the product
// (Conv2D likewise keeps its filters packed, autograd.ConvCache); a
// PackCache packs it again when the weight's version moves on
// (autograd.Var.Version). Optimizers and this package's loaders mark what
// they write; after writing a parameter in place by other means, call its
// MarkChanged. Without PackForInference nothing is kept between calls, so
// a hand-written update loop can never meet a stale copy. A packed GPT's
// Forward at inference runs fused (gpt_infer.go): vector layer norms,
// causal attention reading the qkv product in place, the residual adds in
// the products' epilogues, a few hundred positions at a time through all
// blocks, on pooled buffers, so that a call allocates only its logits.
//
// # Model files
//
// SaveFile writes weights only, for a model built in code. SaveModel writes
// a model file that describes itself, like Keras's model.save: one
// safetensors file holding the weights under their PyTorch names (so
// PyTorch and LoadFile still read it) and, in its metadata under ModelKey,
// a versioned JSON description of the layers and their configuration
// (ModelVersion documents the schema) with a ModelInfo: the input shape,
// the class names, and named JSON extras such as fitted preprocessing or a
// tokenizer. LoadModel rebuilds the model from the file alone:
//
//	info := nn.ModelInfo{InputShape: []int{784}, ClassNames: names}
//	info.SetExtra(nn.ExtraStandardizer, std) // a fitted *data.Standardizer
//	err := nn.SaveModel("mnist.safetensors", model, info)
//
//	model, info, err := nn.LoadModel("mnist.safetensors")
//	var std data.Standardizer
//	ok, err := info.Extra(nn.ExtraStandardizer, &std)
//
// Every built-in layer describes itself (LayerKinds lists them). A user's
// layer implements Configurer and registers its kind once with
// RegisterLayer (RegisterContainer for a layer built from children), and
// then saves and loads the same way. A file is checked before anything is
// built: version, layer kinds, configuration values, and the number of
// values the architecture would allocate against the values the file
// holds, so a hostile file gets an error, not a crash or a huge
// allocation. MapModel loads large files by mapping them into memory
// (copy-on-write, so training the model never writes the file) instead of
// reading them.
//
// # A custom layer
//
// A user's layer is any type with the two methods; composite layers name
// the children they build with Register (a module built elsewhere, such as
// a trained model, is better held through a ParamViews, which renames
// nothing):
//
//	type GLU struct{ value, gate *nn.Dense }
//
//	func NewGLU(in, out int) *GLU {
//		return &GLU{
//			value: nn.Register("value", nn.NewDense(in, out)),
//			gate:  nn.Register("gate", nn.NewDense(in, out, nn.WithActivation(nn.ActSigmoid))),
//		}
//	}
//
//	func (g *GLU) Forward(x *autograd.Var) *autograd.Var {
//		return autograd.Mul(g.value.Forward(x), g.gate.Forward(x))
//	}
//
//	func (g *GLU) Params() []*nn.Param {
//		return append(g.value.Params(), g.gate.Params()...)
//	}
//
// Any new differentiable operation belongs in autograd (as a function over
// Vars, or an autograd.Function passed to autograd.Apply), where
// autograd.CheckGrad verifies its gradient.
//
// # Recurrent layers
//
// RNN, LSTM and GRU follow PyTorch's nn.RNN, nn.LSTM and nn.GRU: the same
// maths (LSTM gates i, f, g, o; GRU gates r, z, n with the reset gate
// applied to W_hn h + b_hn), the same parameter names (weight_ih_l0,
// weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse) and the same
// initialisation, so PyTorch state_dicts load as they are. An RNNConfig
// sets the number of stacked layers, bidirectional, batch-first input
// (time-major [T, B, features] by default, as in PyTorch) and dropout
// between layers. Forward maps a sequence to the output sequence from a
// zero state, so the layers compose like any other; ForwardWith also
// takes an initial state and per-sequence lengths and returns the final
// state, a named LSTMState{H, C} or RNNState{H}:
//
//	lstm := nn.NewLSTM(64, 256, nn.RNNConfig{Layers: 2, BatchFirst: true})
//	out, st := lstm.ForwardWith(x, nn.LSTMState{}, lengths) // out (B, T, 256); st.H, st.C (2, B, 256)
//
// With lengths, steps past a sequence's end are padding, as with PyTorch's
// pack_padded_sequence: their outputs are zero, they change no state and
// get no gradient, and the reverse direction starts at each sequence's own
// last step. RNNCell, LSTMCell and GRUCell expose a single step,
// st = cell.Step(x, st), computed by the same fused autograd ops
// (autograd.LSTM, GRU, RNN) that run the layers; see
// examples/custom-rnn-cell for a cell written by hand from autograd ops.
package nn
