package nn

import (
	"fmt"
	"math/rand/v2"
)

// Option configures a layer constructor, for example
//
//	nn.NewDense(784, 128, nn.WithActivation(nn.ActReLU), nn.WithSeed(1))
//	nn.NewConv2D(1, 32, 3, nn.WithPadding(1), nn.WithStride(2))
//
// Options that do not apply to a layer are ignored by it.
type Option func(*config)

// config collects every option; each constructor reads the fields it uses.
type config struct {
	rng        *rand.Rand
	src        rand.Source // rng's source when known (WithSeed, WithSource, default), for RNGState
	act        Activation
	noBias     bool
	noAffine   bool
	weightInit Initializer
	biasInit   Initializer
	kernel     [2]int
	stride     [2]int
	padding    [2]int
	dilation   [2]int
	groups     int
	momentum   float32
	eps        float32
}

func newConfig(opts []Option) *config {
	c := &config{momentum: 0.1, eps: 1e-5}
	for _, o := range opts {
		o(c)
	}
	if c.rng == nil {
		c.src = nextSource()
		c.rng = rand.New(c.src)
	}
	return c
}

// WithSeed makes the layer draw its initial weights (or, for Dropout, its
// masks) from a generator seeded with seed. Without WithSeed, WithSource or
// WithRand a layer takes its generator from the package's default source
// (see SetSeed), so models are reproducible by default.
func WithSeed(seed uint64) Option {
	return func(c *config) {
		c.src = rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
		c.rng = rand.New(c.src)
	}
}

// WithSource makes the layer draw its randomness from src, which Dropout
// keeps using for its masks. When src can marshal its state
// (encoding.BinaryMarshaler and BinaryUnmarshaler, as *rand.PCG and
// *rand.ChaCha8 do), RNGState and SetRNGState save and restore it.
func WithSource(src rand.Source) Option {
	return func(c *config) {
		c.src = src
		c.rng = rand.New(src)
	}
}

// WithRand makes the layer draw its randomness from r. Dropout keeps using
// r for its masks, so r must not be shared with another goroutine while
// training. The state of r cannot be read back, so RNGState fails for a
// Dropout built this way; use WithSeed or WithSource to save it.
func WithRand(r *rand.Rand) Option {
	return func(c *config) {
		c.rng = r
		c.src = nil
	}
}

// WithActivation fuses an activation into a Dense or Conv2D layer's output.
func WithActivation(a Activation) Option { return func(c *config) { c.act = a } }

// WithoutBias builds a Dense or Conv2D layer with no bias (PyTorch's
// bias=False), or a LayerNorm with no learnable shift.
func WithoutBias() Option { return func(c *config) { c.noBias = true } }

// WithoutAffine builds a BatchNorm or LayerNorm with no learnable scale and
// shift (PyTorch's affine=False and elementwise_affine=False).
func WithoutAffine() Option { return func(c *config) { c.noAffine = true } }

// WithWeightInit replaces the layer's default weight initializer.
func WithWeightInit(f Initializer) Option { return func(c *config) { c.weightInit = f } }

// WithBiasInit replaces the layer's default bias initializer.
func WithBiasInit(f Initializer) Option { return func(c *config) { c.biasInit = f } }

// WithKernel sets a rectangular kernel (height, width) for Conv2D and the
// pooling layers, overriding the square size given to the constructor.
func WithKernel(h, w int) Option { return func(c *config) { c.kernel = [2]int{h, w} } }

// WithStride sets the step between windows of Conv2D and the pooling
// layers: one value for both axes or two (vertical, horizontal).
func WithStride(s ...int) Option { return func(c *config) { c.stride = pair("WithStride", s) } }

// WithPadding sets the zero padding on each side for Conv2D and the pooling
// layers: one value for both axes or two (vertical, horizontal).
func WithPadding(p ...int) Option { return func(c *config) { c.padding = pair("WithPadding", p) } }

// WithDilation sets the spacing between kernel taps for Conv2D and
// MaxPool2D: one value for both axes or two (vertical, horizontal).
func WithDilation(d ...int) Option { return func(c *config) { c.dilation = pair("WithDilation", d) } }

// WithGroups splits a Conv2D's channels into g independent groups
// (g = in channels gives a depthwise convolution).
func WithGroups(g int) Option { return func(c *config) { c.groups = g } }

// WithMomentum sets a BatchNorm's running-statistics momentum (default 0.1):
// running = (1 − momentum)·running + momentum·batch.
func WithMomentum(m float32) Option { return func(c *config) { c.momentum = m } }

// WithEps sets the value a BatchNorm or LayerNorm adds to the variance
// (default 1e-5).
func WithEps(eps float32) Option { return func(c *config) { c.eps = eps } }

func pair(name string, v []int) [2]int {
	switch len(v) {
	case 1:
		return [2]int{v[0], v[0]}
	case 2:
		return [2]int{v[0], v[1]}
	}
	panic(fmt.Sprintf("nn.%s: want one or two values, got %v", name, v))
}
