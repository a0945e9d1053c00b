package atomicfile_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/shoshin-ml/shoshin/internal/atomicfile"
)

func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "atomicfile")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "report.txt")

	err = atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, "accuracy 0.992")
		return err
	})
	fmt.Println(err)

	// A failed write leaves the previous file as it was.
	err = atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		fmt.Fprintln(w, "half a rep")
		return fmt.Errorf("interrupted")
	})
	fmt.Println(err)
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// <nil>
	// interrupted
	// accuracy 0.992
}
