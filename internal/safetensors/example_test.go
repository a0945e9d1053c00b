package safetensors_test

import (
	"bytes"
	"fmt"

	"github.com/shoshin-ml/shoshin/internal/safetensors"
)

func ExampleWrite() {
	var buf bytes.Buffer
	err := safetensors.Write(&buf, []safetensors.Tensor{
		{Name: "b", Shape: []int{}, Data: []float32{0.5}},
		{Name: "a", Shape: []int{2}, Data: []float32{1, -2}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		fmt.Println(err)
		return
	}
	b := buf.Bytes()
	fmt.Printf("header length % x\n", b[:8])
	fmt.Printf("header %q\n", b[8:8+144])
	fmt.Printf("data % x\n", b[8+144:])
	// Output:
	// header length 90 00 00 00 00 00 00 00
	// header "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]}}      "
	// data 00 00 80 3f 00 00 00 c0 00 00 00 3f
}

func ExampleDecode() {
	var buf bytes.Buffer
	_ = safetensors.Write(&buf, []safetensors.Tensor{{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}, nil)
	ts, _, err := safetensors.Decode(buf.Bytes())
	fmt.Println(ts, err)

	// Drop the last byte: the reader says which tensor no longer fits.
	_, _, err = safetensors.Decode(buf.Bytes()[:buf.Len()-1])
	fmt.Println(err)
	// Output:
	// [{w [2 2] [1 2 3 4] F32}] <nil>
	// safetensors: tensor "w": data_offsets [0, 16] run past the 15-byte data section (file bytes 72 to 87)
}

// ExampleTensor_dtype stores a counter as I64, as PyTorch stores
// BatchNorm's num_batches_tracked, and reads it back.
func ExampleTensor_dtype() {
	var buf bytes.Buffer
	err := safetensors.Write(&buf, []safetensors.Tensor{
		{Name: "num_batches_tracked", Shape: []int{}, Data: []float32{3}, Dtype: safetensors.I64},
		{Name: "running_mean", Shape: []int{2}, Data: []float32{0.5, -1}},
	}, nil)
	fmt.Println(err)
	ts, _, err := safetensors.Decode(buf.Bytes())
	for _, t := range ts {
		fmt.Println(t.Name, t.Dtype, t.Data)
	}
	fmt.Println(err)

	// A value the dtype cannot hold is refused before anything is written.
	err = safetensors.Write(&buf, []safetensors.Tensor{
		{Name: "count", Shape: []int{}, Data: []float32{2.5}, Dtype: safetensors.I64},
	}, nil)
	fmt.Println(err)
	// Output:
	// <nil>
	// num_batches_tracked I64 [3]
	// running_mean F32 [0.5 -1]
	// <nil>
	// safetensors: tensor "count": value 2.5 at index 0 is not a valid I64
}

// ExampleLimits reads an untrusted file with a tighter cap on the number
// of tensors than the default.
func ExampleLimits() {
	var buf bytes.Buffer
	_ = safetensors.Write(&buf, []safetensors.Tensor{
		{Name: "a", Shape: []int{1}, Data: []float32{1}},
		{Name: "b", Shape: []int{1}, Data: []float32{2}},
		{Name: "c", Shape: []int{1}, Data: []float32{3}},
	}, nil)
	_, _, err := safetensors.Limits{MaxTensors: 2}.Decode(buf.Bytes())
	fmt.Println(err)
	// Output:
	// safetensors: header: more than 2 tensors (the limit; see Limits.MaxTensors)
}
