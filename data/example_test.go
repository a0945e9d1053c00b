package data_test

import (
	"bytes"
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

// scikit-learn's CSV files have no header: a first line gives the number
// of samples, the number of features and the class names, and the class
// is the last column.
func ExampleReadCSVFile() {
	tb, err := data.ReadCSVFile("testdata/wine_data.csv", data.CSVOptions{
		SkipRows:    1, // "178,13,class_0,class_1,class_2"
		NoHeader:    true,
		LabelColumn: -1, // the last column
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(tb.X.Shape(), tb.Y.Shape(), tb.Columns[0], tb.Columns[12])

	// Every row must have as many fields as the first.
	_, err = data.ReadCSV(strings.NewReader("a,b\n1,2\n3\n"), "short.csv", data.CSVOptions{})
	fmt.Println(err)
	// Output:
	// [178 13] [178] col1 col13
	// short.csv:3: wrong number of fields: expected 2 (as in the header on line 1), got 1
}

func ExampleLimitIDXBytes() {
	var buf bytes.Buffer
	if err := data.WriteIDX(&buf, tensor.Zeros(1000, 28, 28), data.IDXUint8); err != nil {
		panic(err)
	}
	// 784,000 elements take 3,136,000 bytes as float32: over a 1 MiB cap.
	_, _, err := data.ReadIDX(bytes.NewReader(buf.Bytes()), "images.idx", data.LimitIDXBytes(1<<20))
	fmt.Println(err)
	x, typ, err := data.ReadIDX(bytes.NewReader(buf.Bytes()), "images.idx", data.LimitIDXBytes(4<<20))
	fmt.Println(x.Shape(), typ, err)
	// Output:
	// images.idx: offset 12: dimensions [1000 28 28] of uint8 declare more than 262144 elements, the cap (1048576 bytes of float32; see LimitIDXBytes)
	// [1000 28 28] uint8 <nil>
}

func ExampleOneHot() {
	y, _ := data.OneHot([]int{2, 0}, 3)
	fmt.Println(y.Data())
	// Output: [0 0 1 1 0 0]
}
