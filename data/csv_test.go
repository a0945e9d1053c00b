package data

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadCSV(t *testing.T) {
	in := "a, label ,b\n1,0,2.5\n-3e2,2,4\n 5 ,1,NA\n"
	tb, err := ReadCSV(strings.NewReader(in), "t.csv", CSVOptions{Label: "label", Missing: []string{"NA"}})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, tb.Columns)
	require.Equal(t, []int{3, 2}, tb.X.Shape())
	require.Equal(t, []float32{1, 2.5, -300, 4, 5}, tb.X.Data()[:5])
	require.True(t, math.IsNaN(float64(tb.X.Data()[5])))
	require.Equal(t, []float32{0, 2, 1}, tb.Y.Data())

	x, y, dropped := DropNonFinite(tb.X, tb.Y)
	require.Equal(t, 1, dropped)
	require.Equal(t, []int{2, 2}, x.Shape())
	require.Equal(t, []float32{0, 2}, y.Data())

	ds, err := tb.Dataset()
	require.NoError(t, err)
	require.Equal(t, []int{0, 2, 1}, ds.Labels())

	noLabel, err := ReadCSV(strings.NewReader("a;b\n1;2\n"), "s.csv", CSVOptions{Comma: ';'})
	require.NoError(t, err)
	require.Nil(t, noLabel.Y)
	require.Equal(t, []float32{1, 2}, noLabel.X.Data())
	_, err = noLabel.Dataset()
	require.ErrorContains(t, err, "no label column")

	p := filepath.Join(t.TempDir(), "f.csv")
	require.NoError(t, os.WriteFile(p, []byte(in), 0o644))
	_, err = ReadCSVFile(p, CSVOptions{Label: "label"})
	require.ErrorContains(t, err, p+":4:")
}

func TestReadCSVErrors(t *testing.T) {
	cases := []struct {
		name, in string
		opts     CSVOptions
		line     int
		col      int
		msg      string
	}{
		{"empty", "", CSVOptions{}, 1, 0, "empty file: want a header line"},
		{"no label", "a,b\n1,2\n", CSVOptions{Label: "y"}, 1, 0, `no label column "y"`},
		{"twice", "y,a,y\n", CSVOptions{Label: "y"}, 1, 0, "appears twice"},
		{"bad value", "a,b,y\n1,2,3\n4,x5,6\n", CSVOptions{Label: "y"}, 3, 3, `column 2 ("b"): cannot read "x5"`},
		{"empty cell", "a,y\n1,2\n,3\n", CSVOptions{Label: "y"}, 3, 1, "empty cell"},
		{"range", "a\n1e99\n", CSVOptions{}, 2, 1, "out of float32 range"},
		{"field count", "a,b\n1,2\n3\n", CSVOptions{}, 3, 0, "data.csv:3: wrong number of fields: expected 2 (as in the header on line 1), got 1"},
		{"field count more", "a,b\n1,2\n3,4,5\n", CSVOptions{Label: "a"}, 3, 0, "data.csv:3: wrong number of fields: expected 2 (as in the header on line 1), got 3"},
		{"field count no header", "# skipped\n1,2,3\n\n4,5\n", CSVOptions{NoHeader: true, SkipRows: 1}, 4, 0, "data.csv:4: wrong number of fields: expected 3 (as in the first row, line 2), got 2"},
		{"skip all", "a,b\n", CSVOptions{SkipRows: 3}, 2, 0, "no records after the 3 skipped: want a header line"},
		{"no header empty", "", CSVOptions{NoHeader: true}, 1, 0, "empty file: want at least one row of data"},
		{"label column range", "1,2\n", CSVOptions{NoHeader: true, LabelColumn: 3}, 1, 0, "LabelColumn 3 is out of range for 2 columns"},
		{"label column range neg", "a,b\n", CSVOptions{LabelColumn: -3}, 1, 0, "LabelColumn -3 is out of range for 2 columns"},
		{"bom bad value", "\ufeffa,b\nx,2\n", CSVOptions{}, 2, 1, `column 1 ("a"): cannot read "x"`},
		{"quote", "a,b\n1,\"2\n", CSVOptions{}, 2, 6, "quote"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(c.in), "data.csv", c.opts)
			require.Error(t, err)
			var fe *FormatError
			require.True(t, errors.As(err, &fe), "%T %v", err, err)
			require.Equal(t, "data.csv", fe.File)
			require.Equal(t, c.line, fe.Line, err.Error())
			require.Equal(t, c.col, fe.Column, err.Error())
			require.ErrorContains(t, err, c.msg)
		})
	}
}

func TestReadCSVOptionsMisuse(t *testing.T) {
	for _, c := range []struct {
		opts CSVOptions
		msg  string
	}{
		{CSVOptions{SkipRows: -1}, "SkipRows is -1"},
		{CSVOptions{Label: "y", LabelColumn: 1}, "both Label and LabelColumn"},
		{CSVOptions{Label: "y", NoHeader: true}, "use LabelColumn"},
	} {
		_, err := ReadCSV(strings.NewReader("y\n1\n"), "o.csv", c.opts)
		require.ErrorContains(t, err, "data.ReadCSV: o.csv: ")
		require.ErrorContains(t, err, c.msg)
	}
}

// A byte order mark (as Excel writes) is not part of the first name.
func TestReadCSVByteOrderMark(t *testing.T) {
	tb, err := ReadCSV(strings.NewReader("\ufeffa,label\n1,0\n2,1\n"), "bom.csv", CSVOptions{Label: "label"})
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, tb.Columns)
	require.Equal(t, []float32{1, 2}, tb.X.Data())
	tb, err = ReadCSV(strings.NewReader("\ufeff1,2\n"), "bom.csv", CSVOptions{NoHeader: true, LabelColumn: 1})
	require.NoError(t, err)
	require.Equal(t, []float32{2}, tb.X.Data())
	require.Equal(t, []float32{1}, tb.Y.Data())
	// A BOM is only skipped at the very start.
	_, err = ReadCSV(strings.NewReader("a\n\ufeff1\n"), "bom.csv", CSVOptions{})
	require.ErrorContains(t, err, `bom.csv:2:1: column 1 ("a"): cannot read "\ufeff1"`)
}

func TestReadCSVNoHeaderSkipRows(t *testing.T) {
	in := "3,2,no,yes\n0.5, 1, 1\n1.5,2,0\n2.5,3,1\n"
	tb, err := ReadCSV(strings.NewReader(in), "t.csv", CSVOptions{SkipRows: 1, NoHeader: true, LabelColumn: -1})
	require.NoError(t, err)
	require.Equal(t, []string{"col1", "col2"}, tb.Columns)
	require.Equal(t, []int{3, 2}, tb.X.Shape())
	require.Equal(t, []float32{0.5, 1, 1.5, 2, 2.5, 3}, tb.X.Data())
	require.Equal(t, []float32{1, 0, 1}, tb.Y.Data())
	// The label by position from the front, and no label at all.
	tb, err = ReadCSV(strings.NewReader(in), "t.csv", CSVOptions{SkipRows: 1, NoHeader: true, LabelColumn: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"col1", "col3"}, tb.Columns)
	require.Equal(t, []float32{1, 2, 3}, tb.Y.Data())
	tb, err = ReadCSV(strings.NewReader(in), "t.csv", CSVOptions{SkipRows: 1, NoHeader: true})
	require.NoError(t, err)
	require.Equal(t, []int{3, 3}, tb.X.Shape())
	require.Nil(t, tb.Y)
	// A header after skipped lines, with LabelColumn.
	tb, err = ReadCSV(strings.NewReader("title line\nx,y\n1,2\n"), "t.csv", CSVOptions{SkipRows: 1, LabelColumn: -1})
	require.NoError(t, err)
	require.Equal(t, []string{"x"}, tb.Columns)
	require.Equal(t, []float32{2}, tb.Y.Data())
	// Without SkipRows the first line of a scikit-learn file is an error
	// that says what was expected.
	_, err = ReadCSV(strings.NewReader(in), "t.csv", CSVOptions{NoHeader: true, LabelColumn: -1})
	require.EqualError(t, err, `t.csv:1:5: column 3 ("col3"): cannot read "no" as a number`)
}

// scikit-learn's copy of the UCI wine data (testdata/README.md): a first
// line "178,13,class_0,class_1,class_2", then 178 rows of 13 features and
// the class.
func TestReadCSVWineSklearn(t *testing.T) {
	p := filepath.Join("testdata", "wine_data.csv")
	tb, err := ReadCSVFile(p, CSVOptions{SkipRows: 1, NoHeader: true, LabelColumn: -1})
	require.NoError(t, err)
	require.Equal(t, []int{178, 13}, tb.X.Shape())
	require.Len(t, tb.Columns, 13)
	require.Equal(t, "col13", tb.Columns[12])
	// First and last rows of the file.
	require.Equal(t, []float32{14.23, 1.71, 2.43, 15.6, 127, 2.8, 3.06, 0.28, 2.29, 5.64, 1.04, 3.92, 1065}, tb.X.Data()[:13])
	require.Equal(t, []float32{14.13, 4.1, 2.74, 24.5, 96, 2.05, 0.76, 0.56, 1.35, 9.2, 0.61, 1.6, 560}, tb.X.Data()[177*13:])
	ds, err := tb.Dataset()
	require.NoError(t, err)
	counts := make([]int, 3)
	for _, c := range ds.Labels() {
		counts[c]++
	}
	// The class distribution and value ranges that scikit-learn's
	// description of the dataset (wine_data.rst) gives.
	require.Equal(t, []int{59, 71, 48}, counts)
	lo, hi := make([]float32, 13), make([]float32, 13)
	for j := range 13 {
		lo[j], hi[j] = tb.X.At(0, j), tb.X.At(0, j)
		for i := range 178 {
			lo[j], hi[j] = min(lo[j], tb.X.At(i, j)), max(hi[j], tb.X.At(i, j))
		}
	}
	require.Equal(t, []float32{11.03, 0.74, 1.36, 10.6, 70, 0.98, 0.34, 0.13, 0.41, 1.28, 0.48, 1.27, 278}, lo)
	require.Equal(t, []float32{14.83, 5.8, 3.23, 30, 162, 3.88, 5.08, 0.66, 3.58, 13, 1.71, 4, 1680}, hi)
}

// Errors quote at most clipLen bytes of a cell or a name, whatever its
// size, and say how long it was.
func TestReadCSVErrorsBounded(t *testing.T) {
	n, cols := 32<<20, 1<<20 // a 32 MiB cell, a header of a million columns
	if testing.Short() {
		n, cols = 1<<20, 1<<14
	}
	big := strings.Repeat("x", n)
	x40 := strings.Repeat("x", 40)
	_, err := ReadCSV(strings.NewReader("a,b\n1,"+big+"\n"), "big.csv", CSVOptions{})
	require.EqualError(t, err, fmt.Sprintf(`big.csv:2:3: column 2 ("b"): cannot read "%s…" (%d bytes) as a number`, x40, n))

	// A long header name, and a header of many columns without the label.
	_, err = ReadCSV(strings.NewReader(big+",b\nx,1\n"), "big.csv", CSVOptions{})
	require.EqualError(t, err, fmt.Sprintf(`big.csv:2:1: column 1 ("%s…" (%d bytes)): cannot read "x" as a number`, x40, n))
	wide := strings.Repeat("column_name,", cols) + "last\n"
	_, err = ReadCSV(strings.NewReader(wide), "wide.csv", CSVOptions{Label: big})
	require.EqualError(t, err, fmt.Sprintf(`wide.csv:1: no label column "%s…" (%d bytes) in the header (%d columns: "column_name", "column_name", "column_name", "column_name", "column_name", …)`, x40, n, cols+1))

	// Clipping keeps whole UTF-8 characters.
	require.Equal(t, `"`+strings.Repeat("a", 39)+`…" (41 bytes)`, clipQuote(strings.Repeat("a", 39)+"é"))
	require.Equal(t, `"`+strings.Repeat("é", 20)+`…" (42 bytes)`, clipQuote(strings.Repeat("é", 21)))
	require.Equal(t, `"short"`, clipQuote("short"))
}

func FuzzReadCSV(f *testing.F) {
	f.Add("a,b,y\n1,2,0\n3,4,1\n", "y", false, uint8(0), int8(0))
	f.Add("y\n1\n", "y", false, uint8(0), int8(0))
	f.Add("a,b\n1,\"2\"\n", "", false, uint8(0), int8(0))
	f.Add("a,y\nNA,1\n,2\n", "y", false, uint8(0), int8(0))
	f.Add("\ufeffa,y\n1,2\n", "y", false, uint8(0), int8(0))
	f.Add("\ufeff1,2\n3,4\n", "", true, uint8(0), int8(-1))
	f.Add("178,13,class_0,class_1\n1,2,0\n3,4,1\n", "", true, uint8(1), int8(-1))
	f.Add("title\nx,y\n1,2\n", "", false, uint8(1), int8(2))
	f.Add("1,2\n3\n", "", true, uint8(0), int8(1))
	f.Add("a\n", "", false, uint8(5), int8(0))
	f.Fuzz(func(t *testing.T, in, label string, noHeader bool, skip uint8, labelCol int8) {
		opts := CSVOptions{Label: label, NoHeader: noHeader, SkipRows: int(skip), LabelColumn: int(labelCol), Missing: []string{"", "NA"}}
		tb, err := ReadCSV(strings.NewReader(in), "fuzz.csv", opts)
		if err != nil {
			require.ErrorContains(t, err, "fuzz.csv")
			// An error quotes a bounded part of the input.
			require.Less(t, len(err.Error()), 1000+2*len(label))
			return
		}
		n := tb.X.Shape()[0]
		require.Equal(t, len(tb.Columns), tb.X.Shape()[1])
		if tb.Y != nil {
			require.True(t, label != "" || labelCol != 0)
			require.Equal(t, n, tb.Y.Shape()[0])
			_, err := tb.Dataset()
			require.NoError(t, err)
		}
	})
}
