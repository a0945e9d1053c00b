package optim

import (
	"bytes"
	"math"
	"strconv"
	"testing"

	"github.com/shoshin-ml/shoshin/nn"
	"github.com/stretchr/testify/require"
)

// FuzzLoadState feeds arbitrary bytes to LoadState: it must never panic,
// a failed load must leave the optimizer's state as it was, and a state
// that loads must hold only values a step can use (finite learning rates
// >= 0, step counts in [1, MaxStep], finite moments, second moments >= 0)
// and survive a save and load unchanged.
func FuzzLoadState(f *testing.F) {
	for _, c := range allOptimizers {
		params := model(3)
		opt := c.build(params)
		trainSteps(opt, params, 0, 2)
		var buf bytes.Buffer
		require.NoError(f, opt.SaveState(&buf))
		f.Add(buf.Bytes())
	}
	// Seeds one edit away from a valid AMSGrad state: an infinite learning
	// rate, a step count of MaxInt64, negative and NaN second moments.
	params := model(3)
	opt := NewAdam(params, AdamConfig{AMSGrad: true})
	trainSteps(opt, params, 0, 2)
	opt.SetInitialLR(1e-3)
	s, err := opt.StateDict()
	require.NoError(f, err)
	seed := func(md map[string]string, slot string, v float32) {
		full := map[string]string{"optim.algorithm": "adam", "optim.lr": "0.001", "optim.initial_lr": "0.001"}
		var ts []nn.NamedTensor
		for _, ps := range s.Params {
			full["opt."+ps.Name+".step"] = strconv.FormatInt(ps.Step, 10)
			for _, name := range []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"} {
				t := ps.Slots[name].Clone()
				if name == slot {
					t.Data()[0] = v
				}
				ts = append(ts, nn.NamedTensor{Name: "opt." + ps.Name + "." + name, Value: t})
			}
		}
		for k, v := range md {
			full[k] = v
		}
		var buf bytes.Buffer
		require.NoError(f, nn.WriteTensors(&buf, ts, full))
		f.Add(buf.Bytes())
	}
	seed(nil, "", 0)
	seed(map[string]string{"optim.lr": "+Inf"}, "", 0)
	seed(map[string]string{"optim.initial_lr": "NaN"}, "", 0)
	seed(map[string]string{"opt.0.bias.step": strconv.FormatInt(math.MaxInt64, 10)}, "", 0)
	seed(nil, "exp_avg_sq", -1)
	seed(nil, "max_exp_avg_sq", float32(math.NaN()))
	seed(nil, "exp_avg", float32(math.Inf(-1)))

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
			return
		}
		loaded, err := opt.StateDict()
		require.NoError(t, err)
		checkLoadedState(t, loaded)
		var buf bytes.Buffer
		require.NoError(t, opt.SaveState(&buf))
		again := NewAdam(model(3), AdamConfig{AMSGrad: true})
		require.NoError(t, again.LoadState(&buf))
		reloaded, err := again.StateDict()
		require.NoError(t, err)
		require.Equal(t, loaded, reloaded)
	})
}
