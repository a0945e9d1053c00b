// Package quant turns a trained float32 model into an int8 one for
// inference: post-training dynamic quantisation, as PyTorch's
// torch.ao.quantization.quantize_dynamic does.
//
// Quantize replaces every nn.Dense, ungrouped nn.Conv2D, nn.LSTM and
// nn.GRU (inside nn.Sequential and nn.Residual containers) by a layer of
// this package, and a whole nn.GPT or nn.RNNLM by its int8
// counterpart (GPT, RNNLM), whose attention projections, MLP, recurrent
// weights and heads are int8:
//
//   - Weights are quantised once, symmetrically per output channel:
//     scale = max|w|/127, q = round(w/scale) with ties away from zero, so q
//     is in [−127, 127] and each weight is within scale/2.
//   - Activations are quantised at run time, per row (per example for
//     Dense, per output position for Conv2D), to 7-bit unsigned integers
//     with a zero point: scale = (max(0, x) − min(0, x))/127, rounding
//     halves up. Seven bits keep the AVX2 kernel's int16 pair sums from
//     saturating (see kernel.MaxU8Activation); zero is exact.
//   - The product is summed exactly in int32 by the int8 kernels
//     (AVX-512 VNNI, AVX2 or portable Go; all give the same bits), then
//     scaled to float32; bias and activation are applied in float32.
//
// For an output y = Σ_p x_p·w_p the error against the float layer is at
// most Σ_p |x_p|·sw/2 + Σ_p |ŵ_p|·sx/2 (sw, sx the weight and input
// scales, ŵ the dequantised weight), plus float32 rounding.
//
// For the language models the per-layer bound compounds through the
// blocks and steps, so it is checked end to end instead: on small
// char-level models trained in the tests (a two-layer GPT, a rotary GPT, a
// two-layer LSTM and GRU; TestQuantizedLanguageModels) the validation loss moves
// by at most 0.02 nats per character (measured: under 0.001 at about
// 0.85 nats/char), and an incremental decoder gives the logits of a full
// pass within 1e-4. The embeddings, layer norms, softmax of attention,
// gates and cell state stay in float32.
//
// Quantised layers are inference only: their Forward panics on an input
// that requires a gradient, and they have no trainable Params (their
// tensors are buffers). Run them through train.Predict, or on
// autograd.NoGrad inputs.
//
// # Saving and loading
//
// A quantised model saves like any other: the weight is stored as an I8
// tensor beside an F32 "weight_scale", so a file is about 4× smaller than
// the float model's. nn.SaveModel writes a self-describing file, in which
// the layers of this package have the kinds "quant.Dense" and
// "quant.Conv2D" (KindDense, KindConv2D) and the configurations of their
// float counterparts (nn.DenseConfig, nn.Conv2DConfig); nn.LoadModel,
// ReadModel and MapModel rebuild the int8 model from the file alone,
// ready to predict, once this package is imported:
//
//	import _ "github.com/shoshin-ml/shoshin/nn/quant" // registers quant.Dense and quant.Conv2D
//
//	model, info, err := nn.LoadModel("mnist-int8.safetensors")
//
// The kinds are registered by the package's init function, with
// nn.RegisterSizedLayer, rather than by a function the program must
// remember to call: their names carry the package's, so they cannot clash
// with a program's own kinds, and a program that has the import cannot
// forget the registration. Their configurations are checked like the
// built-in layers' (sizes at least 1, at most 131072 inputs per output,
// no groups), and the values they would allocate count against what the
// file holds.
//
// nn.Save and nn.Load (weights only) work too: quantise a model of the
// same architecture and load the file into it. Every loader rebuilds the
// packed weights (nn.StateLoader).
//
//	q, err := quant.Quantize(model)
//	...
//	err = nn.SaveModel("mnist-int8.safetensors", q, nn.ModelInfo{InputShape: []int{1, 28, 28}})
//	logits, err := train.Predict(q, x, 64)
//
// # Language models
//
// GPT and RNNLM implement nn.IncrementalLM, so train.Generate and the
// serve package's /generate run them as they run the float models. Their
// files (kinds "quant.GPT" and "quant.RNNLM", with the float models'
// nn.GPTFileConfig and nn.RNNLMFileConfig) hold the int8 weights under the
// float model's names with a "_scale" tensor beside each, about 3× smaller
// than the float file for small models (the float embeddings and norms
// weigh more there).
//
// # Attention
//
// MultiheadAttention, TransformerEncoderLayer and TransformerEncoder
// (Quantize converts them, also inside containers) hold int8
// in_proj_weight, out_proj, linear1 and linear2; scores, softmax, masks and layer norms stay float32. Against the
// float layers on random inputs their outputs differ by under 3% of the
// largest output (TestMultiheadAttention, TestTransformerEncoderLayer).
// Kinds "quant.MultiheadAttention", "quant.TransformerEncoderLayer" and
// "quant.TransformerEncoder" carry nn.AttentionConfig and
// nn.TransformerLayerConfig.
//
// # Recurrent layers
//
// LSTM and GRU (Quantize converts nn.LSTM and nn.GRU wherever a
// Sequential or Residual holds them, as PyTorch's quantize_dynamic does)
// hold int8 weight_ih and weight_hh for every layer and direction, one
// scale per gate row, and float32 biases, gates and cell state. They take
// the float layers' inputs and options (layers, bidirectional,
// batch-first, initial states, sequence lengths) and have the same
// Forward and ForwardWith, so a model keeps working with them swapped in.
// On unit-scale inputs and states their outputs and final states are
// within 0.03 of the float layers' (measured: under 0.008;
// TestRecurrentMatchesFloat); briefly trained LSTM and GRU sequence
// classifiers lose no test accuracy (TestTrainedSequenceClassifier). The
// gates take their exponentials from the vector kernel, as the float
// layers do; an LSTM of 256 units runs about twice as fast as the float
// one on one thread (BenchmarkLSTMForward). Kinds "quant.LSTM" and
// "quant.GRU" carry nn.RecurrentConfig. The RNNLM's layers run the same
// code.
//
// # What stays float
//
// Quantize looks inside nn.Sequential and nn.Residual, and converts GPT
// and recurrent (LSTM or GRU) language models whole, and an nn.GPTBlock
// used on its own becomes a GPTBlock (kind "quant.GPTBlock"), which runs
// the code of GPT's blocks. nn.RNN keeps its float weights, as do the
// cells (nn.LSTMCell, nn.GRUCell). A module of the
// program's own type is kept as it is, since Quantize cannot rebuild it:
// quantise its layers in its own code with NewLSTM, NewGRU, NewDense and
// the other constructors. So that a recurrent layer is never left float32
// unnoticed, Quantize returns an error naming an nn.LSTM or nn.GRU it
// finds inside such a module (through nn.Container).
package quant
