package data_test

import (
	"fmt"
	"strings"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/tensor"
)

func ExampleLoader() {
	x := tensor.Zeros(10, 2)
	y := tensor.New([]float32{0, 1, 2, 0, 1, 2, 0, 1, 2, 0}, 10)
	ds, err := data.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	loader := data.NewLoader(ds, 4, data.Shuffle(1), data.Prefetch(1))
	fmt.Println("batches per epoch:", loader.NumBatches())
	for b := range loader.All() {
		fmt.Println(b.Index, b.X.Shape(), b.Y.Shape(), len(b.Labels))
	}
	// Output:
	// batches per epoch: 3
	// 0 [4 2] [4] 4
	// 1 [4 2] [4] 4
	// 2 [2 2] [2] 2
}

func ExampleSplit() {
	ds, _ := data.NewTensorDataset(tensor.Zeros(100, 3), tensor.Zeros(100))
	train, val, err := data.Split(ds, 0.2, 42)
	if err != nil {
		panic(err)
	}
	fmt.Println(train.Len(), val.Len())
	// Output: 80 20
}

func ExampleStandardizer() {
	train := tensor.New([]float32{1, 100, 3, 300}, 2, 2)
	test := tensor.New([]float32{2, 500}, 1, 2)
	var s data.Standardizer
	if err := s.Fit(train); err != nil { // fit on training data only
		panic(err)
	}
	fmt.Println(s.Transform(test).Data())
	// Output: [0 3]
}

func ExampleReadCSV() {
	in := "height,weight,class\n1.7,65,0\n1.8,NA,1\n"
	tb, err := data.ReadCSV(strings.NewReader(in), "people.csv", data.CSVOptions{Label: "class", Missing: []string{"NA"}})
	if err != nil {
		panic(err)
	}
	x, y, dropped := data.DropNonFinite(tb.X, tb.Y)
	fmt.Println(tb.Columns, x.Shape(), y.Data(), dropped)

	_, err = data.ReadCSV(strings.NewReader("a,class\n1,0\nx,1\n"), "bad.csv", data.CSVOptions{Label: "class"})
	fmt.Println(err)
	// Output:
	// [height weight] [1 2] [0] 1
	// bad.csv:3:1: column 1 ("a"): cannot read "x" as a number
}

func ExampleOneHot() {
	y, _ := data.OneHot([]int{2, 0}, 3)
	fmt.Println(y.Data())
	// Output: [0 0 1 1 0 0]
}
