package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/shoshin-ml/shoshin/tensor"
)

// Initializer fills a freshly made parameter tensor in place, drawing any
// randomness from r. Fan-in and fan-out come from the tensor's shape as in
// PyTorch: for a weight [out, in, k...], fan-in is in·∏k and fan-out is
// out·∏k.
type Initializer func(t *tensor.Tensor, r *rand.Rand)

// Fans returns the fan-in and fan-out of a weight of the given shape, as
// PyTorch's _calculate_fan_in_and_fan_out does. It panics for fewer than two
// axes.
func Fans(shape []int) (fanIn, fanOut int) {
	if len(shape) < 2 {
		panic(fmt.Sprintf("nn.Fans: shape %v needs at least two axes [out, in, ...]", shape))
	}
	field := 1
	for _, d := range shape[2:] {
		field *= d
	}
	return shape[1] * field, shape[0] * field
}

func fillUniform(t *tensor.Tensor, r *rand.Rand, bound float64) {
	d := t.Data()
	for i := range d {
		d[i] = float32((2*r.Float64() - 1) * bound)
	}
}

func fillNormal(t *tensor.Tensor, r *rand.Rand, mean, std float64) {
	d := t.Data()
	for i := range d {
		d[i] = float32(mean + std*r.NormFloat64())
	}
}

// GlorotUniform draws from U(−b, b) with b = √(6/(fanIn+fanOut)) (Keras's
// default kernel initializer; PyTorch's xavier_uniform_).
func GlorotUniform(t *tensor.Tensor, r *rand.Rand) {
	in, out := Fans(t.Shape())
	fillUniform(t, r, math.Sqrt(6/float64(in+out)))
}

// GlorotNormal draws from N(0, 2/(fanIn+fanOut)) (PyTorch's
// xavier_normal_).
func GlorotNormal(t *tensor.Tensor, r *rand.Rand) {
	in, out := Fans(t.Shape())
	fillNormal(t, r, 0, math.Sqrt(2/float64(in+out)))
}

// XavierUniform is another name for GlorotUniform.
func XavierUniform(t *tensor.Tensor, r *rand.Rand) { GlorotUniform(t, r) }

// XavierNormal is another name for GlorotNormal.
func XavierNormal(t *tensor.Tensor, r *rand.Rand) { GlorotNormal(t, r) }

// HeUniform draws from U(−b, b) with b = √(6/fanIn), suited to ReLU
// networks (PyTorch's kaiming_uniform_ with its defaults a=0, fan_in).
func HeUniform(t *tensor.Tensor, r *rand.Rand) { KaimingUniform(0)(t, r) }

// HeNormal draws from N(0, 2/fanIn) (PyTorch's kaiming_normal_ with a=0).
func HeNormal(t *tensor.Tensor, r *rand.Rand) { KaimingNormal(0)(t, r) }

// KaimingUniform returns PyTorch's kaiming_uniform_(a=a, mode="fan_in",
// nonlinearity="leaky_relu"): U(−b, b) with b = √3·gain/√fanIn and
// gain = √(2/(1+a²)). With a = √5 (PyTorch's default for Linear and Conv2d
// weights) the bound is 1/√fanIn.
func KaimingUniform(a float64) Initializer {
	return func(t *tensor.Tensor, r *rand.Rand) {
		in, _ := Fans(t.Shape())
		gain := math.Sqrt(2 / (1 + a*a))
		fillUniform(t, r, math.Sqrt(3)*gain/math.Sqrt(float64(in)))
	}
}

// KaimingNormal returns PyTorch's kaiming_normal_(a=a, mode="fan_in"):
// N(0, gain²/fanIn) with gain = √(2/(1+a²)).
func KaimingNormal(a float64) Initializer {
	return func(t *tensor.Tensor, r *rand.Rand) {
		in, _ := Fans(t.Shape())
		gain := math.Sqrt(2 / (1 + a*a))
		fillNormal(t, r, 0, gain/math.Sqrt(float64(in)))
	}
}

// Uniform returns an initializer drawing from U(lo, hi).
func Uniform(lo, hi float32) Initializer {
	return func(t *tensor.Tensor, r *rand.Rand) {
		d := t.Data()
		for i := range d {
			d[i] = lo + (hi-lo)*float32(r.Float64())
		}
	}
}

// Normal returns an initializer drawing from N(mean, std²).
func Normal(mean, std float32) Initializer {
	return func(t *tensor.Tensor, r *rand.Rand) { fillNormal(t, r, float64(mean), float64(std)) }
}

// Zeros fills t with zeros.
func Zeros(t *tensor.Tensor, _ *rand.Rand) { tensor.Zero(t) }

// Ones fills t with ones.
func Ones(t *tensor.Tensor, _ *rand.Rand) { tensor.Fill(t, 1) }

// Constant returns an initializer filling with v.
func Constant(v float32) Initializer {
	return func(t *tensor.Tensor, _ *rand.Rand) { tensor.Fill(t, v) }
}

// fanInUniform is PyTorch's default for Linear and Conv2d: weights from
// kaiming_uniform_(a=√5) and biases from U(−1/√fanIn, 1/√fanIn), where
// fanIn is that of the weight.
func fanInUniform(fanIn int) Initializer {
	b := float32(1 / math.Sqrt(float64(max(fanIn, 1))))
	return Uniform(-b, b)
}

// DefaultSeed seeds the package's default random source.
const DefaultSeed = 0x5405f1

// defaultSource hands out the seeds of layers built without WithSeed or
// WithRand, so that building the same model in the same order gives the
// same weights in every run, like a fixed torch.manual_seed.
var defaultSource = struct {
	sync.Mutex
	r *rand.Rand
}{r: rand.New(rand.NewPCG(DefaultSeed, 0))}

// SetSeed restarts the default random source from seed. Layers built
// afterwards without an explicit seed draw their initial weights (and
// Dropout masks) from streams derived from it in construction order.
func SetSeed(seed uint64) {
	defaultSource.Lock()
	defaultSource.r = rand.New(rand.NewPCG(seed, 0))
	defaultSource.Unlock()
}

// nextSource returns a generator source for one layer, seeded from the
// default source.
func nextSource() *rand.PCG {
	defaultSource.Lock()
	s1, s2 := defaultSource.r.Uint64(), defaultSource.r.Uint64()
	defaultSource.Unlock()
	return rand.NewPCG(s1, s2)
}
