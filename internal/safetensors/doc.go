// Package safetensors reads and writes the safetensors file format, the
// tensor container used by PyTorch, Hugging Face and candle.
//
// A file is an 8-byte little-endian unsigned header length N, then N bytes
// of JSON header, then the tensor bytes:
//
//	{"__metadata__":{"format":"pt"},
//	 "0.bias":{"dtype":"F32","shape":[128],"data_offsets":[0,512]},
//	 "0.weight":{"dtype":"F32","shape":[128,784],"data_offsets":[512,401920]}}
//
// data_offsets are [begin, end) byte offsets into the buffer that follows
// the header. Values are little-endian and row-major.
//
// Values are float32 in memory; a Tensor's Dtype says what they are in the
// file. The reader converts F32, F64, F16, BF16, I64, I32, I16, I8, U64,
// U32, U16, U8 and BOOL to float32, and refuses, naming the tensor, value
// and index, what float32 cannot hold: an integer it would round (beyond
// 2^24 and not a multiple of the spacing there), a finite F64 beyond its
// range, a BOOL byte other than 0 or 1. The writer stores each tensor as its
// Dtype (F32 by default) and never rounds: a fraction for an integer dtype,
// or a value F16 or BF16 cannot represent exactly, is an error, reported
// before anything is written. PyTorch's BatchNorm counter
// num_batches_tracked, for one, is I64.
//
// The writer sorts tensors by name, packs them one after the other and pads
// the header with spaces to a multiple of 8 bytes, as the reference
// implementation does; WriteFile replaces a file atomically (see
// internal/atomicfile). The reader is strict: the tensors must cover the
// data buffer exactly, without gaps, overlaps or trailing bytes; every shape
// must agree with its byte range; names must be unique; unknown dtypes and
// unknown header fields are rejected. Malformed input yields an error
// naming the tensor and the offending bytes (names and numbers quoted from
// the file are cut to 64 bytes), never a panic.
//
// The header is parsed in one pass over its bytes, accepting only the
// safetensors schema, so nesting is at most three levels and nothing is
// parsed recursively. Time is linear in the header's size (sorting the
// names adds n log n), and so is memory: one allocation per tensor name
// plus a few shared slices, about 3.3 times the header's bytes for a header
// of empty tensors, and up to 12 times for a header that is one shape of a
// million dimensions. Limits caps the header size (100 MB by default), the
// number of tensors (2^20) and of metadata entries (2^16). The tensor
// values take 4 bytes each, one allocation for all of them: at most 4 times
// the data bytes (1-byte dtypes), the same size for F32. Read does not trust
// the header length for allocation: memory follows the bytes actually read.
//
//	err := safetensors.WriteFile("model.safetensors", []safetensors.Tensor{
//		{Name: "0.weight", Shape: []int{2, 3}, Data: w},
//		{Name: "0.bias", Shape: []int{2}, Data: b},
//		{Name: "1.num_batches_tracked", Shape: []int{}, Data: []float32{3}, Dtype: safetensors.I64},
//	}, map[string]string{"format": "pt"})
//	...
//	tensors, meta, err := safetensors.ReadFile("model.safetensors")
//	...
//	tensors, meta, err = safetensors.Limits{MaxTensors: 1000}.ReadFile("untrusted.safetensors")
package safetensors
