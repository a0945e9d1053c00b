package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// BenchmarkTransformerEncoderLayer times one training step (forward and
// backward, causal mask, no dropout) of a pre-norm encoder layer with
// d=128, 4 heads, feed-forward 512, on a batch of 32 sequences of 128
// tokens. nn/testdata/bench_transformer.py times the same step in PyTorch.
func BenchmarkTransformerEncoderLayer(b *testing.B) {
	const batch, seq, d = 32, 128, 128
	l := nn.NewTransformerEncoderLayer(nn.TransformerConfig{DModel: d, Heads: 4, DimFF: 4 * d, NormFirst: true}, nn.WithSeed(1))
	r := rand.New(rand.NewPCG(1, 2))
	x := tensor.RandN(r, 0, 1, batch, seq, d)
	proj := autograd.Constant(tensor.RandN(r, 0, 1, batch, seq, d))
	step := func() {
		y := l.ForwardMasked(autograd.Constant(x), nn.AttendOptions{Causal: true})
		autograd.Sum(autograd.Mul(y, proj), false).Backward()
		for _, p := range l.Params() {
			p.ZeroGrad()
		}
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		step()
	}
}
