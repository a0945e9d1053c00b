package metrics

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxConfusionLabels bounds the number of labels of a confusion matrix, so
// that data with a huge number of distinct labels cannot make it allocate
// without bound (4096 labels take 128 MiB).
const MaxConfusionLabels = 4096

// Confusion is a confusion matrix: Counts[i][j] is the number of samples
// whose true label is Labels[i] and whose predicted label is Labels[j].
type Confusion struct {
	Labels []int
	Counts [][]int
}

// ConfusionMatrix counts (true, predicted) label pairs, like
// scikit-learn's confusion_matrix. The labels are those present in yTrue or
// yPred in increasing order, or the list given with WithLabels, in which
// case samples whose true or predicted label is not listed are left out.
// With WithLabels at least one listed label must occur in yTrue.
func ConfusionMatrix(yTrue, yPred []int, opts ...Option) (*Confusion, error) {
	const fn = "ConfusionMatrix"
	if err := checkPair(fn, yTrue, yPred); err != nil {
		return nil, err
	}
	c := newConfig(opts)
	if err := c.validate(fn); err != nil {
		return nil, err
	}
	var labels []int
	if c.labelsSet {
		labels = c.labels
	} else {
		labels = uniqueSorted(yTrue, yPred)
	}
	if len(labels) > MaxConfusionLabels {
		return nil, fmt.Errorf("%w: metrics.%s: %d distinct labels, at most %d allowed", ErrOption, fn, len(labels), MaxConfusionLabels)
	}
	cm := newConfusion(labels)
	idx := cm.indexer()
	found := false
	for i, t := range yTrue {
		ti, ok1 := idx(t)
		pi, ok2 := idx(yPred[i])
		found = found || ok1
		if ok1 && ok2 {
			cm.Counts[ti][pi]++
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: metrics.%s: none of the labels %v occurs in yTrue", ErrOption, fn, labels)
	}
	return cm, nil
}

func newConfusion(labels []int) *Confusion {
	k := len(labels)
	flat := make([]int, k*k)
	cm := &Confusion{Labels: slices.Clone(labels), Counts: make([][]int, k)}
	for i := range cm.Counts {
		cm.Counts[i] = flat[i*k : (i+1)*k : (i+1)*k]
	}
	return cm
}

// indexer returns a function mapping a label to its row.
func (c *Confusion) indexer() func(int) (int, bool) {
	pos := make(map[int]int, len(c.Labels))
	for i, l := range c.Labels {
		pos[l] = i
	}
	return func(l int) (int, bool) {
		i, ok := pos[l]
		return i, ok
	}
}

// Total returns the number of samples counted.
func (c *Confusion) Total() int {
	var n int
	for _, row := range c.Counts {
		for _, v := range row {
			n += v
		}
	}
	return n
}

// Accuracy returns the trace of the matrix divided by its total, or 0 for
// an empty matrix.
func (c *Confusion) Accuracy() float64 {
	var hit int
	for i := range c.Counts {
		hit += c.Counts[i][i]
	}
	n := c.Total()
	if n == 0 {
		return 0
	}
	return float64(hit) / float64(n)
}

// String formats the matrix as a table with true labels down the side and
// predicted labels across the top.
func (c *Confusion) String() string {
	w := len("true\\pred")
	for _, l := range c.Labels {
		w = max(w, len(strconv.Itoa(l)))
	}
	for _, row := range c.Counts {
		for _, v := range row {
			w = max(w, len(strconv.Itoa(v)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%*s", w, "true\\pred")
	for _, l := range c.Labels {
		fmt.Fprintf(&b, " %*d", w, l)
	}
	b.WriteByte('\n')
	for i, row := range c.Counts {
		fmt.Fprintf(&b, "%*d", w, c.Labels[i])
		for _, v := range row {
			fmt.Fprintf(&b, " %*d", w, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
