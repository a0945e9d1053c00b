package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Split divides ds at random into a training and a validation subset,
// holding out valFraction of the examples (rounded, at least one in each
// part when ds has two or more examples) for validation. The same seed
// gives the same split. It returns an error unless 0 < valFraction < 1.
func Split(ds Dataset, valFraction float64, seed uint64) (train, val *Subset, err error) {
	n := ds.Len()
	nv, err := valCount("data.Split", n, valFraction)
	if err != nil {
		return nil, nil, err
	}
	perm := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(n)
	v := slices.Clone(perm[:nv])
	t := slices.Clone(perm[nv:])
	slices.Sort(v)
	slices.Sort(t)
	return &Subset{Dataset: ds, Indices: t}, &Subset{Dataset: ds, Indices: v}, nil
}

// StratifiedSplit is like Split but holds out valFraction of each class
// (by label, see LabelOf), so both parts keep the class proportions of ds.
func StratifiedSplit(ds Dataset, valFraction float64, seed uint64) (train, val *Subset, err error) {
	if _, err := valCount("data.StratifiedSplit", ds.Len(), valFraction); err != nil {
		return nil, nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var t, v []int
	for _, idx := range byClass(Labels(ds)) {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		nv := int(math.Round(float64(len(idx)) * valFraction))
		v = append(v, idx[:nv]...)
		t = append(t, idx[nv:]...)
	}
	slices.Sort(v)
	slices.Sort(t)
	return &Subset{Dataset: ds, Indices: t}, &Subset{Dataset: ds, Indices: v}, nil
}

// valCount returns how many of n examples a split holds out.
func valCount(op string, n int, f float64) (int, error) {
	if !(f > 0 && f < 1) {
		return 0, fmt.Errorf("%s: validation fraction %v, want 0 < f < 1", op, f)
	}
	nv := int(math.Round(float64(n) * f))
	if n >= 2 {
		nv = min(max(nv, 1), n-1)
	}
	return nv, nil
}

// byClass groups example indices by label, in increasing label order.
func byClass(labels []int) [][]int {
	m := map[int][]int{}
	for i, c := range labels {
		m[c] = append(m[c], i)
	}
	keys := make([]int, 0, len(m))
	for c := range m {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	out := make([][]int, len(keys))
	for i, c := range keys {
		out[i] = m[c]
	}
	return out
}

// Fold is one train/validation pair of a k-fold cross-validation.
type Fold struct {
	Train, Val *Subset
}

// KFold splits ds into k folds of nearly equal size after a seeded shuffle
// and returns, for each fold, that fold as the validation subset and the
// other k-1 as the training subset. Every example is validated exactly
// once. It returns an error unless 2 <= k <= ds.Len().
func KFold(ds Dataset, k int, seed uint64) ([]Fold, error) {
	n := ds.Len()
	if k < 2 || k > n {
		return nil, fmt.Errorf("data.KFold: k = %d with %d examples, want 2 <= k <= %d", k, n, n)
	}
	perm := rand.New(rand.NewPCG(seed, 0xf01d)).Perm(n)
	fold := make([]int, n) // fold of each example
	for p, i := range perm {
		fold[i] = p * k / n
	}
	return folds(ds, k, fold), nil
}

// StratifiedKFold is like KFold but deals each class's examples round-robin
// across the folds, so each fold keeps the class proportions of ds.
func StratifiedKFold(ds Dataset, k int, seed uint64) ([]Fold, error) {
	n := ds.Len()
	if k < 2 || k > n {
		return nil, fmt.Errorf("data.StratifiedKFold: k = %d with %d examples, want 2 <= k <= %d", k, n, n)
	}
	r := rand.New(rand.NewPCG(seed, 0xf01d))
	fold := make([]int, n)
	next := 0
	for _, idx := range byClass(Labels(ds)) {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			fold[i] = next
			next = (next + 1) % k
		}
	}
	return folds(ds, k, fold), nil
}

func folds(ds Dataset, k int, fold []int) []Fold {
	out := make([]Fold, k)
	for f := range out {
		var t, v []int
		for i, g := range fold {
			if g == f {
				v = append(v, i)
			} else {
				t = append(t, i)
			}
		}
		out[f] = Fold{Train: &Subset{Dataset: ds, Indices: t}, Val: &Subset{Dataset: ds, Indices: v}}
	}
	return out
}
