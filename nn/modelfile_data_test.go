package nn_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/data"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// The data package's fitted scalers travel in a model file as extras and
// transform exactly as before.
func TestModelInfoCarriesScalers(t *testing.T) {
	x := tensor.New([]float32{1, 10, 2, 30, 4, 20, 7, -5}, 4, 2)
	std := &data.Standardizer{}
	require.NoError(t, std.Fit(x))
	mm := &data.MinMaxScaler{Global: true}
	require.NoError(t, mm.Fit(x))
	var info nn.ModelInfo
	require.NoError(t, info.SetExtra(nn.ExtraStandardizer, std))
	require.NoError(t, info.SetExtra(nn.ExtraMinMaxScaler, mm))
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, nn.SaveModel(path, nn.NewSequential(nn.NewDense(2, 1, nn.WithSeed(1))), info))

	_, got, err := nn.LoadModel(path)
	require.NoError(t, err)
	var std2 data.Standardizer
	ok, err := got.Extra(nn.ExtraStandardizer, &std2)
	require.NoError(t, err)
	require.True(t, ok)
	var mm2 data.MinMaxScaler
	ok, err = got.Extra(nn.ExtraMinMaxScaler, &mm2)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, mm2.Global)
	require.Equal(t, std.Transform(x).Data(), std2.Transform(x).Data())
	require.Equal(t, mm.Transform(x).Data(), mm2.Transform(x).Data())
}
