// Package text prepares text for language models: tokenizers that turn
// text into token ids and back, and next-token datasets that cut a token
// stream into [T] windows for a data.Loader.
//
// Three tokenizers share the Tokenizer interface (Encode, Decode,
// VocabSize, MarshalText):
//
//   - Bytes: one token per byte, 256 ids; any byte string round-trips.
//   - Chars: one token per character of a corpus, sorted by code point,
//     plus an Unk id for characters it has not seen.
//   - BPE: byte-level byte-pair encoding trained with TrainBPE, GPT-style:
//     text is first cut into chunks (Split, the GPT-4 pattern written by
//     hand) so tokens never span word boundaries; merges are the only
//     learnt state. Any byte string round-trips, invalid UTF-8 included.
//     Special tokens are recognised only by EncodeSpecial.
//
// A next-token model reads T ids and predicts, at each position, the id
// that follows. Windows draws random windows (seeded, different per
// epoch) for training and Sequential consecutive ones for validation;
// SplitStream cuts a stream by position so that the two never share a
// token:
//
//	tok, err := text.TrainBPE(corpus, 1024)
//	if err != nil {
//		log.Fatal(err)
//	}
//	stream, err := text.Int32s(tok.Encode(corpus))
//	trainIDs, valIDs, err := text.SplitStream(stream, 0.1)
//	train, err := text.NewWindows(trainIDs, text.WindowsConfig{
//		SeqLen: 128, VocabSize: tok.VocabSize(), Seed: 1,
//	})
//	val, err := text.NewSequential(valIDs, 128, tok.VocabSize())
//	loader := data.NewLoader(train, 32)
//	for epoch := range 10 {
//		train.SetEpoch(epoch)
//		for b := range loader.All() {
//			// b.X, b.Y [32, 128]: ids and next ids as float32
//		}
//	}
//
// Ids travel as float32, which holds every integer up to 2^24 exactly, so
// vocabularies are limited to MaxVocab = 2^24 ids.
//
// # Saved format
//
// A tokenizer saves as UTF-8 text, one item per line, "\n"-terminated,
// short enough to sit in a model file's metadata. The first line is
// "shoshin-tokenizer <version> <kind>", version 1, kind byte, char or
// bpe:
//
//	shoshin-tokenizer 1 byte
//
//	shoshin-tokenizer 1 char
//	chars <n>
//	U+000A                 n code points, increasing; id = line order
//	...
//
//	shoshin-tokenizer 1 bpe
//	split gpt4             the pre-tokenizer
//	merges <n>
//	<left> <right>         merge i makes id 256+i from two earlier ids
//	...
//	specials <k>
//	<id> "<text>"          Go-quoted; ids follow the merges in order
//
// Load, LoadFile, Unmarshal and each type's UnmarshalText check
// everything (counts, canonical numbers, ids that exist, no duplicate
// merge, tokens of at most MaxTokenBytes, a size cap of MaxLoadBytes) and
// return a *data.FormatError naming the line, never panicking.
package text
