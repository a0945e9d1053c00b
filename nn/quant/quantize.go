package quant

import (
	"errors"
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/nn"
)

// maxIn is the largest reduction length (input features, or inC·kh·kw)
// whose int32 sums cannot overflow: 127·128·maxIn < 2³¹.
const maxIn = 1 << 17

// Quantize returns an int8 copy of model for inference: every nn.Dense and
// every ungrouped nn.Conv2D becomes a Dense or Conv2D of this package, with
// symmetric per-output-channel int8 weights, an nn.MultiheadAttention,
// nn.TransformerEncoderLayer or nn.TransformerEncoder becomes its int8
// counterpart, an nn.LSTM or nn.GRU (any layers, bidirectional or not)
// becomes an LSTM or GRU of this package with int8 weight_ih and
// weight_hh, an nn.GPTBlock becomes a GPTBlock, and an nn.GPT or
// nn.RNNLM (LSTM or GRU) becomes a GPT or RNNLM of this package. Inside nn.Sequential and
// nn.Residual containers (nested or not) the layers are replaced in a new
// container;
// any other module, such as Flatten, ReLU or BatchNorm, is kept as is and
// shared with model, which Quantize never changes. Parameter names are
// unchanged, and each quantised layer adds a "weight_scale" next to its
// "weight".
//
// Quantize returns an error when it finds nothing to quantise, when a
// quantisable layer is not built (the zero value), or when an nn.LSTM or
// nn.GRU sits inside a module of another type (found through
// nn.Container), which it cannot replace: rather than leave it float32
// unnoticed, it names it, and the module's own code can build the int8
// layer with NewLSTM or NewGRU. A Dense or Conv2D with
// more than 131072 inputs per output is kept in float, because its int32
// sums could overflow; an nn.LSTM or nn.GRU whose input or
// directions·hidden exceed that is an error.
func Quantize(model nn.Module) (nn.Module, error) {
	if model == nil {
		return nil, errors.New("quant.Quantize: the model is nil")
	}
	n := 0
	q, err := quantize(model, &n)
	if err != nil {
		return nil, err
	}
	if where := floatRecurrent(q, nil); where != "" {
		return nil, fmt.Errorf("quant.Quantize: %s, which Quantize cannot replace (it rebuilds only nn.Sequential and nn.Residual); quantise it in the module's own code with quant.NewLSTM or quant.NewGRU", where)
	}
	if n == 0 {
		return nil, fmt.Errorf("quant.Quantize: %T has no Dense or Conv2D layer to quantise", model)
	}
	return q, nil
}

// floatRecurrent looks through the children (nn.Container) of modules
// that Quantize kept for an nn.LSTM or nn.GRU left in float32, and
// describes the first it finds ("" for none). parent is the module
// holding m, nil at the top.
func floatRecurrent(m, parent nn.Module) string {
	switch m.(type) {
	case *nn.LSTM, *nn.GRU:
		return fmt.Sprintf("a %T holds an %T", parent, m)
	case *nn.RNNLM:
		return "" // kept whole, in float32, only when too large for int8
	}
	if c, ok := m.(nn.Container); ok {
		for _, ch := range c.Children() {
			if ch == nil {
				continue
			}
			if s := floatRecurrent(ch, m); s != "" {
				return s
			}
		}
	}
	return ""
}

func quantize(m nn.Module, n *int) (nn.Module, error) {
	switch l := m.(type) {
	case *nn.Dense:
		if l.Weight == nil {
			return nil, errors.New("quant.Quantize: a Dense layer is not built (use nn.NewDense)")
		}
		if l.Weight.Value().Dim(1) > maxIn {
			return m, nil
		}
		*n++
		return NewDense(l), nil
	case *nn.Conv2D:
		if l.Weight == nil {
			return nil, errors.New("quant.Quantize: a Conv2D layer is not built (use nn.NewConv2D)")
		}
		ws := l.Weight.Shape()
		if l.Opts.Groups > 1 || ws[1]*ws[2]*ws[3] > maxIn {
			return m, nil
		}
		*n++
		return NewConv2D(l), nil
	case *nn.MultiheadAttention:
		if l.InProjWeight == nil {
			return nil, errors.New("quant.Quantize: a MultiheadAttention is not built (use nn.NewMultiheadAttention)")
		}
		*n++
		return NewMultiheadAttention(l), nil
	case *nn.TransformerEncoderLayer:
		if l.SelfAttn == nil {
			return nil, errors.New("quant.Quantize: a TransformerEncoderLayer is not built (use nn.NewTransformerEncoderLayer)")
		}
		if l.Linear1.Weight.Value().Dim(0) > maxIn {
			return m, nil
		}
		*n++
		return NewTransformerEncoderLayer(l), nil
	case *nn.TransformerEncoder:
		if len(l.Layers) == 0 {
			return nil, errors.New("quant.Quantize: a TransformerEncoder is not built (use nn.NewTransformerEncoder)")
		}
		if l.Layers[0].Linear1.Weight.Value().Dim(0) > maxIn {
			return m, nil
		}
		*n++
		return NewTransformerEncoder(l), nil
	case *nn.GPT:
		if l.WTE == nil {
			return nil, errors.New("quant.Quantize: the GPT is not built (use nn.NewGPT)")
		}
		if 4*l.Cfg.Block.DModel > maxIn {
			return m, nil
		}
		*n++
		return NewGPT(l), nil
	case *nn.RNNLM:
		if l.Embed == nil {
			return nil, errors.New("quant.Quantize: the RNNLM is not built (use nn.NewRNNLM)")
		}
		if _, c := l.LayerConfig(); c.(nn.RNNLMFileConfig).Hidden > maxIn || c.(nn.RNNLMFileConfig).Embed > maxIn {
			return m, nil
		}
		*n++
		return NewRNNLM(l), nil
	case *nn.GPTBlock:
		if l.Attn == nil {
			return nil, errors.New("quant.Quantize: a GPTBlock is not built (use nn.NewGPTBlock)")
		}
		if 4*l.LN1.Shape[0] > maxIn {
			return m, nil
		}
		*n++
		return NewGPTBlock(l), nil
	case *nn.LSTM:
		if len(l.Weights) == 0 {
			return nil, errors.New("quant.Quantize: an LSTM is not built (use nn.NewLSTM)")
		}
		if !recurrentFits(l.LayerConfig()) {
			return nil, fmt.Errorf("quant.Quantize: %v is too large for int8 (the int32 sums of rows over %d inputs could overflow)", l, maxIn)
		}
		*n++
		return NewLSTM(l), nil
	case *nn.GRU:
		if len(l.Weights) == 0 {
			return nil, errors.New("quant.Quantize: a GRU is not built (use nn.NewGRU)")
		}
		if !recurrentFits(l.LayerConfig()) {
			return nil, fmt.Errorf("quant.Quantize: %v is too large for int8 (the int32 sums of rows over %d inputs could overflow)", l, maxIn)
		}
		*n++
		return NewGRU(l), nil
	case *nn.Sequential:
		layers := make([]nn.Module, l.Len())
		for i := range layers {
			q, err := quantize(l.Layer(i), n)
			if err != nil {
				return nil, fmt.Errorf("%w (layer %d)", err, i)
			}
			layers[i] = q
		}
		return nn.NewSequential(layers...), nil
	case *nn.Residual:
		if l.F == nil {
			return m, nil
		}
		f, err := quantize(l.F, n)
		if err != nil {
			return nil, fmt.Errorf("%w (inside a Residual)", err)
		}
		return nn.NewResidual(f), nil
	}
	return m, nil
}

// recurrentFits reports whether the int32 sums of a recurrent layer's
// products cannot overflow (its configuration passes recurrentConfig's
// size checks).
func recurrentFits(_ string, cfg any) bool {
	c := cfg.(nn.RecurrentConfig)
	dirs := 1
	if c.Bidirectional {
		dirs = 2
	}
	return c.Input <= maxIn && dirs*c.Hidden <= maxIn
}

// quantizeRows quantises each row of the rows×cols matrix w to symmetric
// int8: scale[r] = max|w[r]|/127 and q = round(w/scale), rounding half
// away from zero, so that q lies in [−127, 127] and w ≈ scale·q with an
// error of at most scale/2. An all-zero row gets scale 0 and zeros.
func quantizeRows(w []float32, rows, cols int) (q []int8, scale []float32) {
	q = make([]int8, rows*cols)
	scale = make([]float32, rows)
	for r := range rows {
		row := w[r*cols : (r+1)*cols]
		var m float32
		for _, v := range row {
			m = max(m, float32(math.Abs(float64(v))))
		}
		if m == 0 {
			continue
		}
		s := m / 127
		scale[r] = s
		for i, v := range row {
			q[r*cols+i] = int8(max(-127, min(127, math.Round(float64(v/s)))))
		}
	}
	return q, scale
}

// quantizeActivations quantises each row of the rows×cols matrix x (row i
// to q[i·ldq:]) to 7-bit unsigned integers with a per-row scale and zero
// point, by kernel.QuantizeU8Rows (see kernel.MaxU8Activation for why 7
// bits): lo = min(0, min x), hi = max(0, max x), scale = (hi−lo)/127, zp =
// round(−lo/scale) and q = clamp(⌊x·(1/scale) + zp + ½⌋, 0, 127), rounding
// halves up. Zero is exact and every x is within scale/2 of scale·(q − zp).
// A zero row gets scale 0; a row with NaN or ±Inf a NaN scale.
func quantizeActivations(x []float32, rows, cols int, q []uint8, ldq int, scale []float32, zp []int32) {
	kernel.QuantizeU8Rows(q, ldq, x, rows, cols, scale, zp)
}

// rowSums returns Σ_p q[j·cols+p] for each row j.
func rowSums(q []int8, rows, cols int) []int32 {
	s := make([]int32, rows)
	for j := range rows {
		for _, v := range q[j*cols : (j+1)*cols] {
			s[j] += int32(v)
		}
	}
	return s
}
