package optim

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzLoadState feeds arbitrary bytes to LoadState: it must never panic,
// and a failed load must leave the optimizer's state as it was.
func FuzzLoadState(f *testing.F) {
	for _, c := range allOptimizers {
		params := model(3)
		opt := c.build(params)
		trainSteps(opt, params, 0, 2)
		var buf bytes.Buffer
		require.NoError(f, opt.SaveState(&buf))
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		params := model(3)
		opt := NewAdam(params, AdamConfig{AMSGrad: true})
		trainSteps(opt, params, 0, 1)
		before, err := opt.StateDict()
		require.NoError(t, err)
		if err := opt.LoadState(bytes.NewReader(b)); err != nil {
			after, err2 := opt.StateDict()
			require.NoError(t, err2)
			require.Equal(t, before, after)
		}
	})
}
