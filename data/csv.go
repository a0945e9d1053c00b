package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shoshin-ml/shoshin/tensor"
)

// CSVOptions configures ReadCSV. The zero value reads a comma-separated
// file with a header line and no target column.
type CSVOptions struct {
	// Label names the target column. It is read into Table.Y and left out
	// of the features. Empty means no target column (or see LabelColumn).
	Label string
	// LabelColumn chooses the target column by position instead, for files
	// without a header: 1 is the first column (as in error messages), -1
	// the last, -2 the one before; 0 means none. Set Label or LabelColumn,
	// not both.
	LabelColumn int
	// NoHeader says that the file has no header line: every record after
	// the skipped ones is data, and the columns are named col1, col2, ...
	NoHeader bool
	// SkipRows is the number of records to skip at the start of the file,
	// before the header (or the first data row with NoHeader), whatever
	// their number of fields. scikit-learn's own CSV files, for example,
	// start with a line such as "178,13,class_0,class_1,class_2"
	// (samples, features, class names): read them with SkipRows: 1,
	// NoHeader: true, LabelColumn: -1.
	SkipRows int
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

// ReadCSV reads a CSV table of numbers, by default with a header line
// naming the columns (see CSVOptions for files without one, leading rows
// to skip and a target column chosen by position). The target column
// becomes Table.Y, the others the features. A UTF-8 byte order mark at the
// start is ignored. Every row must have as many fields as the header (or
// the first data row). name is used in errors, which give the line and
// column of the problem (a value that is not a number, a row with the
// wrong number of fields, ...) as a *FormatError; cell values and names
// are quoted in errors only up to their first 40 bytes.
func ReadCSV(r io.Reader, name string, opts CSVOptions) (*Table, error) {
	switch {
	case opts.SkipRows < 0:
		return nil, fmt.Errorf("data.ReadCSV: %s: CSVOptions.SkipRows is %d, want >= 0", name, opts.SkipRows)
	case opts.Label != "" && opts.LabelColumn != 0:
		return nil, fmt.Errorf("data.ReadCSV: %s: CSVOptions sets both Label and LabelColumn; set one", name)
	case opts.Label != "" && opts.NoHeader:
		return nil, fmt.Errorf("data.ReadCSV: %s: CSVOptions.Label names a column but NoHeader says there are no names; use LabelColumn", name)
	}
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	if opts.Comma != 0 {
		cr.Comma = opts.Comma
	}
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // counted here, to say what was expected
	lastLine := 0           // line of the last field read
	for range opts.SkipRows {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, csvErr(name, err)
		}
		lastLine, _ = cr.FieldPos(len(rec) - 1)
	}
	first, err := cr.Read()
	if err == io.EOF {
		what := "a header line naming the columns"
		if opts.NoHeader {
			what = "at least one row of data"
		}
		msg := "empty file: want " + what
		if opts.SkipRows > 0 {
			msg = fmt.Sprintf("no records after the %d skipped: want %s", opts.SkipRows, what)
		}
		return nil, &FormatError{File: name, Offset: -1, Line: lastLine + 1, Msg: msg}
	}
	if err != nil {
		return nil, csvErr(name, err)
	}
	firstLine, _ := cr.FieldPos(0)
	ncols := len(first)
	header := make([]string, ncols)
	for i, h := range first {
		if opts.NoHeader {
			header[i] = "col" + strconv.Itoa(i+1)
		} else {
			header[i] = strings.TrimSpace(h)
		}
	}
	label := -1
	switch {
	case opts.Label != "":
		for i, h := range header {
			if h != opts.Label {
				continue
			}
			if label >= 0 {
				return nil, &FormatError{File: name, Offset: -1, Line: firstLine, Msg: fmt.Sprintf("label column %s appears twice (columns %d and %d)", clipQuote(h), label+1, i+1)}
			}
			label = i
		}
		if label < 0 {
			return nil, &FormatError{File: name, Offset: -1, Line: firstLine, Msg: fmt.Sprintf("no label column %s in the header (%s)", clipQuote(opts.Label), summarize(header))}
		}
	case opts.LabelColumn > 0 && opts.LabelColumn <= ncols:
		label = opts.LabelColumn - 1
	case opts.LabelColumn < 0 && -opts.LabelColumn <= ncols:
		label = ncols + opts.LabelColumn
	case opts.LabelColumn != 0:
		return nil, &FormatError{File: name, Offset: -1, Line: firstLine, Msg: fmt.Sprintf("CSVOptions.LabelColumn %d is out of range for %d columns", opts.LabelColumn, ncols)}
	}
	cols := make([]string, 0, ncols)
	for i, h := range header {
		if i != label {
			cols = append(cols, h)
		}
	}
	what := fmt.Sprintf("the header on line %d", firstLine)
	if opts.NoHeader {
		what = fmt.Sprintf("the first row, line %d", firstLine)
	}
	var xs, ys []float32
	rows := 0
	rec := first
	if !opts.NoHeader {
		rec, err = cr.Read()
	}
	for ; err != io.EOF; rec, err = cr.Read() {
		if err != nil {
			return nil, csvErr(name, err)
		}
		if len(rec) != ncols {
			line, _ := cr.FieldPos(0)
			return nil, &FormatError{File: name, Offset: -1, Line: line, Msg: fmt.Sprintf("wrong number of fields: expected %d (as in %s), got %d", ncols, what, len(rec))}
		}
		for j, cell := range rec {
			v, err := parseCell(cell, opts.Missing)
			if err != nil {
				line, col := cr.FieldPos(j)
				return nil, &FormatError{File: name, Offset: -1, Line: line, Column: col, Msg: fmt.Sprintf("column %d (%s): %v", j+1, clipQuote(header[j]), err)}
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
			return 0, fmt.Errorf("%s is out of float32 range", clipQuote(s))
		}
		if s == "" {
			return 0, errors.New("empty cell (list \"\" in CSVOptions.Missing to read it as missing)")
		}
		return 0, fmt.Errorf("cannot read %s as a number", clipQuote(s))
	}
	return float32(v), nil
}

// clipLen is the most bytes of a cell or a name that an error quotes.
const clipLen = 40

// clipQuote quotes s for an error message. A string longer than clipLen
// bytes is cut at a character boundary, marked with "…" and followed by
// its length, so that a huge cell cannot make a huge error.
func clipQuote(s string) string {
	if len(s) <= clipLen {
		return strconv.Quote(s)
	}
	cut := clipLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s (%d bytes)", strconv.Quote(s[:cut]+"…"), len(s))
}

// summarize describes a header for an error message: its number of
// columns and the first few names, each clipped.
func summarize(header []string) string {
	const show = 5
	var b strings.Builder
	fmt.Fprintf(&b, "%d columns: ", len(header))
	for i, h := range header[:min(len(header), show)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(clipQuote(h))
	}
	if len(header) > show {
		b.WriteString(", …")
	}
	return b.String()
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FormatError{File: name, Offset: -1, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("%s: %w", name, err)
}
