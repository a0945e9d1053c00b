// Command char-lstm trains a character-level LSTM language model on a
// text: the same program as char-gpt (corpus, training, validation in
// nats and bits per character, seeded sampling, save with the tokenizer,
// reload and the same sample) with nn.RNNLM in place of the transformer.
//
//	go run ./examples/char-lstm
//	go run ./examples/char-lstm -text FILE -steps 2000 -minutes 0
//
// The model is an embedding of 64, a 2-layer LSTM of 256 units (batch
// first) and a linear head, about 0.9M parameters, trained on batches of
// 32 random windows of 128 characters with AdamW (peak learning rate 3e-3,
// warm-up and cosine decay per step) and gradient clipping at norm 1,
// each batch as two shares of 16 windows side by side (-shards 2, as
// char-gpt).
// Generation carries the LSTM's state from one character to the next, so
// each new character costs one step of the network.
//
// Flags are those of char-gpt, with -seqlen (window length, default 128),
// -layers (2), -embed (64) and -hidden (256) for the model; the files are
// char-lstm.safetensors (a self-describing model file with the tokenizer:
// go run ./examples/serve -model char-lstm.safetensors serves it, -int8
// quantised) and char-lstm-loss.png.
package main
