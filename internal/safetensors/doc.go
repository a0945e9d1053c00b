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
// The writer emits only F32, with tensors sorted by name, packed one after
// the other, and the header padded with spaces to a multiple of 8 bytes as
// the reference implementation does. The reader accepts F32, F16, BF16 and
// F64 (converted to float32) and is strict: the tensors must cover the data
// buffer exactly, without gaps, overlaps or trailing bytes; every shape must
// agree with its byte range; names must be unique; unknown dtypes and
// unknown header fields are rejected. Malformed input yields an error naming
// the tensor and the offending bytes, never a panic, and the reader never
// allocates more than a small multiple of the input's real size.
//
//	err := safetensors.WriteFile("model.safetensors", []safetensors.Tensor{
//		{Name: "0.weight", Shape: []int{2, 3}, Data: w},
//		{Name: "0.bias", Shape: []int{2}, Data: b},
//	}, map[string]string{"format": "pt"})
//	...
//	tensors, meta, err := safetensors.ReadFile("model.safetensors")
package safetensors
