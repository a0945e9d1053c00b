package text

import (
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"

	"github.com/shoshin-ml/shoshin/data"
)

// MaxExactID is 2^24: every integer in [0, 2^24] is exact as a float32,
// beyond it some are not. Windows and Sequential hand token ids to a model
// as float32 features, so they accept only vocabularies of at most
// MaxExactID ids (the same bound as MaxVocab).
const MaxExactID = 1 << 24

var (
	_ data.Dataset = (*Windows)(nil)
	_ data.Dataset = (*Sequential)(nil)
)

// checkStream validates the arguments shared by the window datasets.
func checkStream(op string, stream []int32, seqLen, vocabSize int) error {
	if seqLen < 1 {
		return fmt.Errorf("%s: sequence length %d, want >= 1", op, seqLen)
	}
	if vocabSize < 1 || vocabSize > MaxExactID {
		return fmt.Errorf("%s: vocabulary size %d, want 1 to %d (ids travel as float32, exact up to 2^24)", op, vocabSize, MaxExactID)
	}
	if len(stream) < seqLen+1 {
		return fmt.Errorf("%s: stream of %d tokens, want at least sequence length + 1 = %d", op, len(stream), seqLen+1)
	}
	for i, id := range stream {
		if id < 0 || int(id) >= vocabSize {
			return fmt.Errorf("%s: token %d at position %d is outside the vocabulary [0, %d)", op, id, i, vocabSize)
		}
	}
	return nil
}

// window copies stream[start : start+T] into x and stream[start+1 :
// start+T+1] into y, as float32, and returns the last target.
func window(stream []int32, start int, x, y []float32) int {
	s := stream[start : start+len(x)+1]
	for j := range x {
		x[j] = float32(s[j])
		y[j] = float32(s[j+1])
	}
	return int(s[len(x)])
}

// WindowsConfig configures NewWindows.
type WindowsConfig struct {
	// SeqLen is T, the number of tokens per example (>= 1).
	SeqLen int
	// VocabSize bounds the ids: each must be in [0, VocabSize), and
	// VocabSize at most MaxExactID.
	VocabSize int
	// PerEpoch is the number of windows in an epoch (the dataset's Len);
	// 0 means (len(stream)-1)/SeqLen, about one pass over the tokens.
	PerEpoch int
	// Seed chooses the windows, with the epoch (see SetEpoch).
	Seed uint64
}

// Windows is a next-token Dataset of windows at random places in a token
// stream. Example i of epoch e starts at a position drawn from Seed, e and
// i alone, uniformly among the len(stream)-SeqLen possible starts, so an
// epoch is the same whatever order a Loader asks for its examples, and
// different epochs see different windows. Its features are SeqLen ids
// stream[s : s+T] and its targets the ids that follow each one,
// stream[s+1 : s+T+1], both as float32 (exact since ids < 2^24); its label
// is the last target.
//
// A Loader over Windows gives batches with X and Y of shape [B, T].
type Windows struct {
	stream []int32
	cfg    WindowsConfig
	shape  []int
	epoch  atomic.Int64
}

// NewWindows returns the random-window dataset of stream (shared, not
// copied). It returns an error if SeqLen < 1, VocabSize is outside
// [1, MaxExactID], the stream is shorter than SeqLen+1 tokens, an id is
// out of range or PerEpoch < 0.
func NewWindows(stream []int32, cfg WindowsConfig) (*Windows, error) {
	if err := checkStream("text.NewWindows", stream, cfg.SeqLen, cfg.VocabSize); err != nil {
		return nil, err
	}
	if cfg.PerEpoch < 0 {
		return nil, fmt.Errorf("text.NewWindows: %d windows per epoch, want >= 0 (0 for one pass)", cfg.PerEpoch)
	}
	if cfg.PerEpoch == 0 {
		cfg.PerEpoch = (len(stream) - 1) / cfg.SeqLen
	}
	return &Windows{stream: stream, cfg: cfg, shape: []int{cfg.SeqLen}}, nil
}

// SetEpoch chooses the epoch whose windows Example returns (0 at first).
// Call it before each epoch, not while a Loader iterates:
//
//	for epoch := range n {
//		ds.SetEpoch(epoch)
//		for b := range loader.All() { ... }
//	}
func (d *Windows) SetEpoch(e int) { d.epoch.Store(int64(e)) }

// Epoch returns the epoch set by SetEpoch.
func (d *Windows) Epoch() int { return int(d.epoch.Load()) }

// Len returns the number of windows per epoch.
func (d *Windows) Len() int { return d.cfg.PerEpoch }

// FeatureShape returns [T].
func (d *Windows) FeatureShape() []int { return d.shape }

// TargetShape returns [T].
func (d *Windows) TargetShape() []int { return d.shape }

// Start returns the position in the stream where example i of the current
// epoch starts.
func (d *Windows) Start(i int) int {
	h := mix(d.cfg.Seed ^ mix(uint64(d.epoch.Load())^0x9e3779b97f4a7c15) ^ mix(uint64(i)+0x632be59bd9b4e019))
	n := uint64(len(d.stream) - d.cfg.SeqLen)
	hi, _ := bits.Mul64(h, n) // uniform in [0, n) up to n/2^64
	return int(hi)
}

// Example copies window i of the current epoch into x and y (each of
// length T) and returns its last target id.
func (d *Windows) Example(i int, x, y []float32) int {
	if i < 0 || i >= d.cfg.PerEpoch {
		panic(fmt.Sprintf("text.Windows.Example: index %d out of range [0, %d)", i, d.cfg.PerEpoch))
	}
	if len(x) != d.cfg.SeqLen || len(y) != d.cfg.SeqLen {
		panic(fmt.Sprintf("text.Windows.Example: buffers of %d and %d values, want %d and %d", len(x), len(y), d.cfg.SeqLen, d.cfg.SeqLen))
	}
	return window(d.stream, d.Start(i), x, y)
}

// mix is the SplitMix64 finaliser.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Sequential is a next-token Dataset of consecutive, non-overlapping
// windows, for validation and testing: example i holds ids
// stream[i*T : i*T+T] and targets stream[i*T+1 : i*T+T+1], so an epoch
// scores every token but the first once (up to a last partial window,
// which is left out). Its label is the last target.
type Sequential struct {
	stream []int32
	t      int
	shape  []int
}

// NewSequential returns the consecutive-window dataset of stream (shared,
// not copied), with the same checks as NewWindows.
func NewSequential(stream []int32, seqLen, vocabSize int) (*Sequential, error) {
	if err := checkStream("text.NewSequential", stream, seqLen, vocabSize); err != nil {
		return nil, err
	}
	return &Sequential{stream: stream, t: seqLen, shape: []int{seqLen}}, nil
}

// Len returns (len(stream)-1)/T.
func (d *Sequential) Len() int { return (len(d.stream) - 1) / d.t }

// FeatureShape returns [T].
func (d *Sequential) FeatureShape() []int { return d.shape }

// TargetShape returns [T].
func (d *Sequential) TargetShape() []int { return d.shape }

// Example copies window i into x and y and returns its last target id.
func (d *Sequential) Example(i int, x, y []float32) int {
	if i < 0 || i >= d.Len() {
		panic(fmt.Sprintf("text.Sequential.Example: index %d out of range [0, %d)", i, d.Len()))
	}
	if len(x) != d.t || len(y) != d.t {
		panic(fmt.Sprintf("text.Sequential.Example: buffers of %d and %d values, want %d and %d", len(x), len(y), d.t, d.t))
	}
	return window(d.stream, i*d.t, x, y)
}

// SplitStream cuts a token stream by position: the first part for
// training, the last valFraction of the tokens (rounded) for validation.
// The two share no token, so datasets built on each never see across the
// boundary. It returns an error unless 0 < valFraction < 1 and both parts
// are non-empty.
func SplitStream(stream []int32, valFraction float64) (train, val []int32, err error) {
	if !(valFraction > 0 && valFraction < 1) {
		return nil, nil, fmt.Errorf("text.SplitStream: validation fraction %v, want 0 < f < 1", valFraction)
	}
	nv := int(math.Round(float64(len(stream)) * valFraction))
	if nv < 1 || nv >= len(stream) {
		return nil, nil, fmt.Errorf("text.SplitStream: %d tokens with validation fraction %v leave an empty part", len(stream), valFraction)
	}
	cut := len(stream) - nv
	return stream[:cut:cut], stream[cut:], nil
}

// Int32s converts token ids (as Encode returns them) to the compact
// stream the datasets take. It returns an error naming the position of an
// id that is negative or not below MaxExactID.
func Int32s(ids []int) ([]int32, error) {
	out := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id >= MaxExactID {
			return nil, fmt.Errorf("text.Int32s: id %d at position %d outside [0, %d)", id, i, MaxExactID)
		}
		out[i] = int32(id)
	}
	return out, nil
}
