package nn

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// TestZeroSequenceLayersUnusable extends TestZeroValuesUnusable to the
// sequence layers: used as zero values they must panic naming the
// constructor (not with a nil-pointer dereference), and their Params and
// String must not crash.
func TestZeroSequenceLayersUnusable(t *testing.T) {
	x := autograd.Constant(tensor.Ones(2, 3, 4))
	for _, c := range []struct {
		m    Module
		want string
	}{
		{&MultiheadAttention{}, "build it with nn.NewMultiheadAttention"},
		{&TransformerEncoderLayer{}, "build it with nn.NewTransformerEncoderLayer"},
		{&TransformerEncoder{}, "build it with nn.NewTransformerEncoder"},
		{&CausalSelfAttention{}, "build it with nn.NewGPTBlock"},
		{&GPTMLP{}, "build it with nn.NewGPTBlock"},
		{&GPTBlock{}, "build it with nn.NewGPTBlock"},
		{&GPT{}, "build it with nn.NewGPT"},
		{&Embedding{}, "build it with nn.NewEmbedding"},
		{&PositionalEmbedding{}, "build it with nn.NewPositionalEmbedding"},
		{&SinusoidalPositionalEncoding{}, "build it with nn.NewSinusoidalPositionalEncoding"},
		{&LSTMCell{}, "build it with nn.NewLSTMCell"},
		{&GRUCell{}, "build it with nn.NewGRUCell"},
		{&RNNCell{}, "build it with nn.NewRNNCell"},
		{&LSTM{}, "build it with nn.NewLSTM"},
		{&GRU{}, "build it with nn.NewGRU"},
		{&RNN{}, "build it with nn.NewRNN"},
		{&Conv1D{}, "build it with nn.NewConv1D"},
		{&MaxPool1D{}, "build it with nn.NewMaxPool1D"},
		{&AvgPool1D{}, "build it with nn.NewAvgPool1D"},
	} {
		name := fmt.Sprintf("%T", c.m)
		require.Contains(t, panicText(func() { c.m.Forward(x) }), c.want, name)
		require.Empty(t, panicText(func() { _ = c.m.Params() }), name+".Params")
		if s, ok := c.m.(fmt.Stringer); ok {
			require.Empty(t, panicText(func() { _ = s.String() }), name+".String")
		}
	}
}
