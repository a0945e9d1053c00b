package safetensors

import (
	"bytes"
	"io"
	"testing"
)

// benchTensors is the state of a 784-128-10 MLP (about 400 KB).
func benchTensors() []Tensor {
	return []Tensor{
		{Name: "0.weight", Shape: []int{128, 784}, Data: make([]float32, 128*784)},
		{Name: "0.bias", Shape: []int{128}, Data: make([]float32, 128)},
		{Name: "2.weight", Shape: []int{10, 128}, Data: make([]float32, 10*128)},
		{Name: "2.bias", Shape: []int{10}, Data: make([]float32, 10)},
	}
}

func BenchmarkWrite(b *testing.B) {
	ts := benchTensors()
	var buf bytes.Buffer
	_ = Write(&buf, ts, nil)
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, ts, map[string]string{"format": "pt"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	_ = Write(&buf, benchTensors(), map[string]string{"format": "pt"})
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
