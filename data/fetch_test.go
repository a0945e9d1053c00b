package data

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/shoshin-ml/shoshin/internal/mnisttest"
	"github.com/stretchr/testify/require"
)

func TestFetchMNIST(t *testing.T) {
	src := mnisttest.Dir(t)
	var hits atomic.Int32
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.ServeFile(w, r, filepath.Join(src, filepath.Base(r.URL.Path)))
	}))
	defer good.Close()
	// A mirror that serves truncated files and one that fails.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(src, filepath.Base(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(b[:len(b)/2])
	}))
	defer bad.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	dir := filepath.Join(t.TempDir(), "mnist")
	err := FetchMNIST(context.Background(), dir, bad.URL, down.URL)
	require.ErrorContains(t, err, "got ")
	require.ErrorContains(t, err, "503")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "no partial files left behind")

	require.NoError(t, FetchMNIST(context.Background(), dir, bad.URL, good.URL+"/"))
	require.Equal(t, int32(4), hits.Load())
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 4)
	train, test, err := MNIST(dir)
	require.NoError(t, err)
	require.Equal(t, 60000, train.Len())
	require.Equal(t, 10000, test.Len())

	// Files already present and correct are not fetched again.
	require.NoError(t, FetchMNIST(context.Background(), dir, good.URL))
	require.Equal(t, int32(4), hits.Load())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, FetchMNIST(ctx, t.TempDir(), good.URL))
}
