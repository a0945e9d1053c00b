package tensor_test

import (
	"fmt"

	"github.com/shoshin-ml/shoshin/tensor"
)

func ExampleAdd() {
	a := tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := tensor.New([]float32{10, 20, 30}, 3)
	fmt.Println(tensor.Add(a, b)) // b is broadcast over the rows of a
	// Output:
	// Tensor[2 3]
	// [[11, 22, 33],
	//  [14, 25, 36]]
}

func ExampleMatMul() {
	x := tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3) // [batch, in]
	w := tensor.New([]float32{1, 0, 1, 0, 1, 1}, 2, 3) // [out, in], as Dense stores it
	// x·wᵀ without copying w: the transpose is a flag to the GEMM kernel.
	fmt.Println(tensor.MatMul(x, w, false, true))
	// Output:
	// Tensor[2 2]
	// [[4, 5],
	//  [10, 11]]
}

func ExampleTensor_Reshape() {
	t := tensor.Arange(0, 6, 1)
	m := t.Reshape(2, -1) // shares t's data; -1 is inferred
	m.Set(100, 1, 2)
	fmt.Println(m.Shape(), t.At(5))
	// Output: [2 3] 100
}

func ExampleSum() {
	t := tensor.New([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	fmt.Println(tensor.Sum(t, false, 0))
	fmt.Println(tensor.Sum(t, true, -1))
	fmt.Println(tensor.SumAll(t))
	// Output:
	// Tensor[3]
	// [5, 7, 9]
	// Tensor[2 1]
	// [[6],
	//  [15]]
	// 21
}

func ExampleSoftmax() {
	logits := tensor.New([]float32{1, 2, 3, 0, 0, 0}, 2, 3)
	p := tensor.Softmax(logits, -1)
	fmt.Printf("%.3f\n", p.Data())
	fmt.Println(tensor.ArgMax(p, 1))
	// Output:
	// [0.090 0.245 0.665 0.333 0.333 0.333]
	// [2 0]
}

func ExampleIndex() {
	data := tensor.New([]float32{0, 0, 1, 1, 2, 2, 3, 3}, 4, 2)
	batch := tensor.Index(data, []int{3, 1})
	fmt.Println(batch)
	// Output:
	// Tensor[2 2]
	// [[3, 3],
	//  [1, 1]]
}

func ExampleAddScaled() {
	w := tensor.New([]float32{1, 2}, 2)
	g := tensor.New([]float32{8, 8}, 2)
	// An SGD step, in place. The learning rate is a power of two so that
	// the printed result is exact whether or not the multiply-add is fused
	// (it is on arm64).
	tensor.AddScaled(w, -0.125, g)
	fmt.Println(w.Data())
	// Output: [0 1]
}

// ExamplePackB packs a weight once and reuses it for a layer's
// relu(x·Wᵀ + b), the inference step of a dense layer.
func ExamplePackB() {
	w := tensor.New([]float32{1, 0, -1, 2, 1, 0}, 2, 3) // [out, in]
	b := tensor.New([]float32{0.5, 1}, 2)
	packed := tensor.PackB(w, true) // op(w) = wᵀ, [3 2]
	x := tensor.New([]float32{1, 2, 3}, 1, 3)
	y := tensor.MatMulPacked(x, packed, tensor.Epilogue{Bias: b, Act: tensor.ActReLU})
	fmt.Println(y.Shape(), y.Data())
	// Output: [1 2] [0 5]
}
