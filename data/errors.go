package data

import "fmt"

// FormatError reports malformed input: which file, where in it (byte
// offset, or line and column for text) and what was wrong.
type FormatError struct {
	// File names the input (a path, or the name given to a reader).
	File string
	// Offset is the byte offset of the problem, or -1 if none applies.
	// For gzip-compressed IDX files it counts decompressed bytes.
	Offset int64
	// Line and Column locate the problem in text input (from 1), or are 0.
	Line, Column int
	// Msg says what was wrong and what was expected.
	Msg string
}

// Error formats the error as "file: offset N: msg" or "file:line:col: msg".
func (e *FormatError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.Offset >= 0:
		return fmt.Sprintf("%s: offset %d: %s", e.File, e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func offsetErr(file string, off int64, format string, args ...any) *FormatError {
	return &FormatError{File: file, Offset: off, Msg: fmt.Sprintf(format, args...)}
}
