package train

import (
	"fmt"
	"sort"
	"strings"
)

// Logs maps a quantity's name ("loss", "accuracy", "val_loss", ...) to its
// value, as Keras passes logs to callbacks.
type Logs map[string]float64

// String formats the logs in a stable order: loss first, then the other
// training values, then the validation values.
func (l Logs) String() string {
	var sb strings.Builder
	for i, k := range l.keys() {
		if i > 0 {
			sb.WriteString(" - ")
		}
		fmt.Fprintf(&sb, "%s: %.4f", k, l[k])
	}
	return sb.String()
}

func (l Logs) keys() []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		switch {
		case k == "loss":
			return 0
		case k == "val_loss":
			return 2
		case strings.HasPrefix(k, "val_"):
			return 3
		case k == "lr":
			return 4
		}
		return 1
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

// History records the logs of every completed epoch.
type History struct {
	// Epochs holds one Logs per completed epoch, in order.
	Epochs []Logs
}

// Series returns one quantity across epochs (NaN-free: epochs without it
// are skipped), e.g. h.Series("val_accuracy").
func (h *History) Series(name string) []float64 {
	var out []float64
	for _, l := range h.Epochs {
		if v, ok := l[name]; ok {
			out = append(out, v)
		}
	}
	return out
}

// Last returns the logs of the last completed epoch, or nil.
func (h *History) Last() Logs {
	if len(h.Epochs) == 0 {
		return nil
	}
	return h.Epochs[len(h.Epochs)-1]
}
