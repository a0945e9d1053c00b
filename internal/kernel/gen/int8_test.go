package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInt8UpToDate fails when int8_amd64.s differs from what genInt8
// writes.
func TestInt8UpToDate(t *testing.T) {
	have, err := os.ReadFile(filepath.Join("..", "int8_amd64.s"))
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != string(genInt8()) {
		t.Error("int8_amd64.s is out of date: run go generate in internal/kernel")
	}
	decl, err := os.ReadFile(filepath.Join("..", "int8_decl_amd64.go"))
	if err != nil {
		t.Fatal(err)
	}
	if string(decl) != string(genInt8Decl()) {
		t.Error("int8_decl_amd64.go is out of date: run go generate in internal/kernel")
	}
}
