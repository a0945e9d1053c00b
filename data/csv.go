package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/shoshin-ml/shoshin/tensor"
)

// CSVOptions configures ReadCSV.
type CSVOptions struct {
	// Label names the target column. It is read into Table.Y and left out
	// of the features. Empty means no target column.
	Label string
	// Missing lists cell values (after trimming spaces) that stand for a
	// missing value, such as "", "NA" or "?". They are read as NaN, to be
	// dropped (DropNonFinite) or filled (Imputer). Any other value that is
	// not a number is an error.
	Missing []string
	// Comma is the field separator; zero means ','.
	Comma rune
}

// Table is numeric tabular data read from a CSV file.
type Table struct {
	// Columns names the feature columns, in the order of X's columns.
	Columns []string
	// X holds the features, shape [N, len(Columns)].
	X *tensor.Tensor
	// Y holds the label column, shape [N], or is nil without one.
	Y *tensor.Tensor
}

// Dataset returns a TensorDataset over X and Y. It returns an error if the
// table has no label column.
func (t *Table) Dataset() (*TensorDataset, error) {
	if t.Y == nil {
		return nil, errors.New("data.Table.Dataset: the table has no label column (set CSVOptions.Label)")
	}
	return NewTensorDataset(t.X, t.Y)
}

// ReadCSVFile reads the CSV file at path; see ReadCSV.
func ReadCSVFile(path string, opts CSVOptions) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCSV(f, path, opts)
}

// ReadCSV reads a CSV table of numbers with a header line. The column
// named opts.Label becomes the targets, the others the features. name is
// used in errors, which give the line and column of the problem (a value
// that is not a number, a row with the wrong number of fields, ...) as a
// *FormatError.
func ReadCSV(r io.Reader, name string, opts CSVOptions) (*Table, error) {
	cr := csv.NewReader(r)
	if opts.Comma != 0 {
		cr.Comma = opts.Comma
	}
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &FormatError{File: name, Offset: -1, Line: 1, Msg: "empty file: want a header line naming the columns"}
	}
	if err != nil {
		return nil, csvErr(name, err)
	}
	header = slices.Clone(header)
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	label := -1
	if opts.Label != "" {
		for i, h := range header {
			if h != opts.Label {
				continue
			}
			if label >= 0 {
				return nil, &FormatError{File: name, Offset: -1, Line: 1, Msg: fmt.Sprintf("label column %q appears twice (columns %d and %d)", h, label+1, i+1)}
			}
			label = i
		}
		if label < 0 {
			return nil, &FormatError{File: name, Offset: -1, Line: 1, Msg: fmt.Sprintf("no label column %q in header %q", opts.Label, header)}
		}
	}
	cols := make([]string, 0, len(header))
	for i, h := range header {
		if i != label {
			cols = append(cols, h)
		}
	}
	var xs, ys []float32
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		for j, cell := range rec {
			v, err := parseCell(cell, opts.Missing)
			if err != nil {
				line, col := cr.FieldPos(j)
				return nil, &FormatError{File: name, Offset: -1, Line: line, Column: col, Msg: fmt.Sprintf("column %d (%q): %v", j+1, header[j], err)}
			}
			if j == label {
				ys = append(ys, v)
			} else {
				xs = append(xs, v)
			}
		}
		rows++
	}
	t := &Table{Columns: cols, X: tensor.New(xs, rows, len(cols))}
	if label >= 0 {
		t.Y = tensor.New(ys, rows)
	}
	return t, nil
}

func parseCell(cell string, missing []string) (float32, error) {
	s := strings.TrimSpace(cell)
	if slices.Contains(missing, s) {
		return float32(math.NaN()), nil
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of float32 range", s)
		}
		if s == "" {
			return 0, errors.New("empty cell (list \"\" in CSVOptions.Missing to read it as missing)")
		}
		return 0, fmt.Errorf("cannot read %q as a number", s)
	}
	return float32(v), nil
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FormatError{File: name, Offset: -1, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("%s: %w", name, err)
}
