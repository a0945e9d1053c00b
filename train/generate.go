package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/nn"
	"github.com/shoshin-ml/shoshin/tensor"
)

// GenerateConfig controls Generate.
type GenerateConfig struct {
	// MaxTokens is the most tokens to generate (required, positive).
	MaxTokens int
	// Temperature divides the logits before sampling; 0 selects greedy
	// decoding (always the most likely token, the first on a tie).
	Temperature float64
	// TopK, when positive, samples only among the TopK most likely tokens
	// (and any tied with the last of them).
	TopK int
	// TopP, in (0, 1), samples only from the smallest set of most likely
	// tokens whose probability adds up to at least TopP (nucleus sampling).
	// 0 and 1 leave the distribution whole.
	TopP float64
	// Stop ends generation when one of these ids is generated; the stop id
	// is not returned.
	Stop []int
	// Rand draws the samples; required unless Temperature is 0. The same
	// seed gives the same tokens.
	Rand *rand.Rand
	// Context is the most positions the model sees at once. It defaults
	// to the decoder's capacity (a GPT's Context) and is required for a
	// model without one that cannot take any length.
	Context int
	// NoCache re-runs the model over the whole context (the last Context
	// tokens) for every new token instead of decoding incrementally: the
	// reference the cached path is tested against, O(N²) in the length.
	NoCache bool
}

// Generate continues prompt (token ids, at least one) with up to
// cfg.MaxTokens tokens from a language model that maps ids [B, T] to
// logits [B, T, vocab], and returns the new tokens.
//
// A model implementing nn.IncrementalLM (nn.GPT, nn.RNNLM) decodes
// incrementally: the prompt goes through once, then each new token costs
// one model step over that token alone (a GPT reads and extends its
// key/value caches, an RNN carries its state), so N tokens cost O(N)
// steps. When a GPT's cache is full, the decoder restarts from the last
// half of the context, so that the positions never pass the model's
// Context; the tokens after such a restart can differ from re-running the
// last Context tokens every step (NoCache), which keeps the full window.
// Other models, and NoCache, re-run the model over the last Context tokens
// for every new token.
//
// Cancelling ctx stops generation before the next token: Generate returns
// the tokens so far and ctx's error. A panic of the model (an id outside
// its vocabulary) is returned as an error.
func Generate(ctx context.Context, model nn.Module, prompt []int, cfg GenerateConfig) (out []int, err error) {
	if isNil(model) {
		return nil, errors.New("train: Generate: the model is nil")
	}
	if err := cfg.check(len(prompt)); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("train: Generate: the model failed after %d new token(s): %v", len(out), p)
		}
	}()
	var step func(tokens []int) []float32 // the logits after tokens
	if lm, ok := model.(nn.IncrementalLM); ok && !cfg.NoCache {
		step = cachedStep(lm.NewDecoder(1), cfg.Context)
	} else {
		if cfg.Context == 0 {
			if lm, ok := model.(nn.IncrementalLM); ok {
				cfg.Context = lm.NewDecoder(1).Cap()
			}
		}
		step = fullStep(model, cfg.Context)
	}
	tokens := slices.Clone(prompt)
	s := newSampler(cfg)
	for range cfg.MaxTokens {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		id := s.sample(step(tokens))
		if slices.Contains(cfg.Stop, id) {
			break
		}
		tokens = append(tokens, id)
		out = append(out, id)
	}
	return out, nil
}

func (c *GenerateConfig) check(promptLen int) error {
	switch {
	case promptLen == 0:
		return errors.New("train: Generate: the prompt is empty; give at least one token")
	case c.MaxTokens < 1:
		return fmt.Errorf("train: Generate: MaxTokens is %d, want at least 1", c.MaxTokens)
	case !(c.Temperature >= 0) || math.IsInf(c.Temperature, 0):
		return fmt.Errorf("train: Generate: Temperature is %v, want 0 (greedy) or a finite positive value", c.Temperature)
	case c.TopK < 0:
		return fmt.Errorf("train: Generate: TopK is %d, want 0 (off) or more", c.TopK)
	case !(c.TopP >= 0 && c.TopP <= 1):
		return fmt.Errorf("train: Generate: TopP is %v, want a probability in [0, 1]", c.TopP)
	case c.Temperature > 0 && c.Rand == nil:
		return errors.New("train: Generate: sampling (Temperature > 0) needs Rand")
	case c.Context < 0:
		return fmt.Errorf("train: Generate: Context is %d, want 0 (the model's) or more", c.Context)
	}
	return nil
}

// cachedStep decodes incrementally: each call feeds only the tokens the
// decoder has not seen. A full decoder restarts from the last half of the
// context.
func cachedStep(d nn.Decoder, context int) func([]int) []float32 {
	limit := d.Cap()
	if context > 0 && (limit == 0 || context < limit) {
		limit = context
	}
	start := 0 // index in tokens of the decoder's position 0
	return func(tokens []int) []float32 {
		if limit > 0 && len(tokens)-start > limit {
			start = len(tokens) - max(limit/2, 1)
			d.Reset()
		}
		seen := start + d.Len()
		return lastLogits(d.Decode(nn.IDs(tokens[seen:], 1, len(tokens)-seen)), 0) // of [1, t, V]
	}
}

// fullStep re-runs the model over the last context tokens (all of them
// when context is 0) for every new token.
func fullStep(model nn.Module, context int) func([]int) []float32 {
	return func(tokens []int) []float32 {
		if context > 0 && len(tokens) > context {
			tokens = tokens[len(tokens)-context:]
		}
		logits := model.Forward(autograd.NoGrad(nn.IDs(tokens, 1, len(tokens)))).Value()
		if logits.Rank() != 3 {
			panic(fmt.Sprintf("the model turned ids [1, %d] into %v, want logits [1, %d, vocab]", len(tokens), logits.Shape(), len(tokens)))
		}
		return lastLogits(logits, 0)
	}
}

// sampler picks the next token from logits as configured.
type sampler struct {
	cfg   GenerateConfig
	probs []float64
	order []int
}

func newSampler(cfg GenerateConfig) *sampler { return &sampler{cfg: cfg} }

// sample returns the greedy choice or a draw from the filtered
// distribution.
func (s *sampler) sample(logits []float32) int {
	if s.cfg.Temperature == 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return best
	}
	p := s.distribution(logits)
	u := s.cfg.Rand.Float64()
	last := 0
	for i, pi := range p {
		if pi == 0 {
			continue
		}
		last = i
		if u < pi {
			return i
		}
		u -= pi
	}
	return last // rounding left u above the total
}

// distribution returns softmax(logits / Temperature) restricted to the
// TopK and TopP sets and renormalised; filtered tokens get 0.
func (s *sampler) distribution(logits []float32) []float64 {
	n := len(logits)
	p := append(s.probs[:0], make([]float64, n)...)
	s.probs = p
	mx := float64(slices.Max(logits))
	var z float64
	for i, v := range logits {
		p[i] = math.Exp((float64(v) - mx) / s.cfg.Temperature)
		z += p[i]
	}
	for i := range p {
		p[i] /= z
	}
	order := s.order[:0]
	for i := range n {
		order = append(order, i)
	}
	s.order = order
	// Most likely first; ties by id, so the order is deterministic.
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return 0
	})
	keep := n
	if k := s.cfg.TopK; k > 0 && k < n {
		kth := p[order[k-1]]
		keep = k
		for keep < n && p[order[keep]] == kth {
			keep++
		}
	}
	if tp := s.cfg.TopP; tp > 0 && tp < 1 {
		var cum float64
		for i, id := range order[:keep] {
			cum += p[id]
			if cum >= tp {
				keep = i + 1
				break
			}
		}
	}
	var kept float64
	for _, id := range order[:keep] {
		kept += p[id]
	}
	for _, id := range order[keep:] {
		p[id] = 0
	}
	for _, id := range order[:keep] {
		p[id] /= kept
	}
	return p
}

// lastLogits returns the logits of the last position of a language
// model's output [B, T, V] for sequence b, a view of its data.
func lastLogits(logits *tensor.Tensor, b int) []float32 {
	t, v := logits.Dim(1), logits.Dim(2)
	off := (b*t + t - 1) * v
	return logits.Data()[off : off+v]
}
