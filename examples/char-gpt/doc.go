// Command char-gpt trains a small character-level GPT on a text and
// writes with it, end to end: tokenizer, random training windows, AdamW
// with warm-up, cosine decay and gradient clipping, validation loss in
// nats and bits per character, sampling with a key/value cache, and a
// saved model that carries its tokenizer.
//
//	go run ./examples/char-gpt                 # Newton's Opticks, 300 steps or 5 minutes
//	go run ./examples/char-gpt -text FILE -steps 2000 -minutes 0
//
// The corpus defaults to Go's own copy of Newton's Opticks,
// $GOROOT/src/testdata/Isaac.Newton-Opticks.txt (found through
// runtime.GOROOT, else `go env GOROOT`); the last 10% of it is held out
// for validation. Every character of the text is a token (text.Chars).
//
// The model is nn.GPT as nanoGPT builds it: token and position embeddings,
// 4 pre-norm blocks of 4 heads at width 128, context 128, final layer norm
// and an untied head, about 0.8M parameters. It trains on batches of 32
// random windows of 128 characters with the next-token cross-entropy,
// AdamW (weight decay 0.1, β₂ 0.99), gradient clipping at norm 1, and a
// learning rate that rises linearly from 0 over the first 30 steps and
// then falls along a cosine to a tenth of its peak (train.StepScheduler).
// Each batch trains as two shares of 16 windows side by side, one per core
// (train.Config.Shards: 2, data parallelism), which keeps two cores busier
// than splitting every small operation of the model; the gradient is the
// whole batch's, and the result is the same on any number of cores.
// Every 25 steps it prints the training and validation loss in nats, in
// bits per character and the next-character accuracy.
//
// At the end it prints the validation loss, generates a sample from a
// seeded generator (temperature 0.8) with train.Generate, which decodes
// one token at a time through the blocks' key/value caches, saves the
// model to char-gpt.safetensors as a self-describing model file
// (nn.SaveModel, the tokenizer as its nn.ExtraTokenizer extra; go run
// ./examples/serve -model char-gpt.safetensors serves it), reloads it
// with nn.LoadModel and shows that it generates the very same
// sample. The loss curve is written to char-gpt-loss.png.
//
// Flags:
//
//	-text FILE        corpus (default: the Opticks)
//	-steps N          optimizer steps (default 300)
//	-minutes M        stop at the first validation after M minutes (default 5; 0: no limit)
//	-batch N          windows per batch (default 32)
//	-context T        window length and model positions (default 128)
//	-layers N, -heads N, -d N   model shape (default 4, 4, 128)
//	-lr X, -warmup N, -clip X   peak learning rate 2e-3, 30 warm-up steps, norm 1
//	-shards N         shares of each batch trained side by side (default 2; 1: whole)
//	-every N          steps between validations (default 25)
//	-val N            validation windows (default 128; 0: all)
//	-seed N           weights, windows and sample (default 1)
//	-prompt S, -len N, -temperature X, -topk K   the sample
//	-out FILE, -plots DIR   the model file and the loss curve's folder
//	-dashboard ADDR   follow training live in the browser (train/dashboard):
//	                  ":8080" serves http://127.0.0.1:8080/, with the sample at
//	                  the end; the page stays up until Ctrl-C
//
// Ctrl-C stops training at the end of the current batch; the model is
// still evaluated, sampled and saved.
package main
