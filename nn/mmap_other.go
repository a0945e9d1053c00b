//go:build !unix

package nn

import "errors"

// canMap reports whether this platform maps files into memory; on the
// others MapModel reads the file instead.
const canMap = false

func mapFile(string) ([]byte, func() error, error) {
	return nil, nil, errors.New("memory mapping is not supported on this platform")
}
