//go:build unix

package nn

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// canMap reports whether this platform maps files into memory; on the
// others MapModel reads the file instead.
const canMap = true

// mapFile maps the file at path privately (copy-on-write): reads come from
// the page cache, and a write, such as an optimizer step on a mapped
// weight, copies the page into the process's own memory and never reaches
// the file. It returns the mapping and a function that unmaps it.
func mapFile(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size <= 0 {
		return nil, nil, fmt.Errorf("%s: file is empty", path)
	}
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("%s: %d bytes is too large to map", path, size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	return b, func() error { return unix.Munmap(b) }, nil
}
