package data

import (
	"errors"
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
		{"empty", "", CSVOptions{}, 1, 0, "empty file"},
		{"no label", "a,b\n1,2\n", CSVOptions{Label: "y"}, 1, 0, `no label column "y"`},
		{"twice", "y,a,y\n", CSVOptions{Label: "y"}, 1, 0, "appears twice"},
		{"bad value", "a,b,y\n1,2,3\n4,x5,6\n", CSVOptions{Label: "y"}, 3, 3, `column 2 ("b"): cannot read "x5"`},
		{"empty cell", "a,y\n1,2\n,3\n", CSVOptions{Label: "y"}, 3, 1, "empty cell"},
		{"range", "a\n1e99\n", CSVOptions{}, 2, 1, "out of float32 range"},
		{"field count", "a,b\n1,2\n3\n", CSVOptions{}, 3, 1, "wrong number of fields"},
		{"quote", "a,b\n1,\"2\n", CSVOptions{}, 2, 0, "quote"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(c.in), "data.csv", c.opts)
			require.Error(t, err)
			var fe *FormatError
			require.True(t, errors.As(err, &fe), "%T %v", err, err)
			require.Equal(t, "data.csv", fe.File)
			require.Equal(t, c.line, fe.Line, err.Error())
			if c.col > 0 {
				require.Equal(t, c.col, fe.Column, err.Error())
			}
			require.ErrorContains(t, err, c.msg)
		})
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add("a,b,y\n1,2,0\n3,4,1\n", "y")
	f.Add("y\n1\n", "y")
	f.Add("a,b\n1,\"2\"\n", "")
	f.Add("a,y\nNA,1\n,2\n", "y")
	f.Fuzz(func(t *testing.T, in, label string) {
		tb, err := ReadCSV(strings.NewReader(in), "fuzz.csv", CSVOptions{Label: label, Missing: []string{"", "NA"}})
		if err != nil {
			require.ErrorContains(t, err, "fuzz.csv")
			return
		}
		n := tb.X.Shape()[0]
		require.Equal(t, len(tb.Columns), tb.X.Shape()[1])
		if tb.Y != nil {
			require.Equal(t, n, tb.Y.Shape()[0])
			_, err := tb.Dataset()
			require.NoError(t, err)
		}
	})
}
