package plot

import (
	"fmt"
	"path/filepath"

	"github.com/shoshin-ml/shoshin/train"
)

// History writes one training-curve chart per quantity of h into dir, as
// dir/prefix-quantity.png, each with the training series and, when the
// history has it, the validation series ("val_" + quantity). It returns
// the paths written. Quantities missing from the history are skipped; it
// fails when none is present.
func History(dir, prefix string, h *train.History, quantities ...string) ([]string, error) {
	var paths []string
	for _, q := range quantities {
		series := map[string][]float64{}
		if s := h.Series(q); len(s) > 0 {
			series[q] = s
		}
		if s := h.Series("val_" + q); len(s) > 0 {
			series["val_"+q] = s
		}
		if len(series) == 0 {
			continue
		}
		path := filepath.Join(dir, prefix+"-"+q+".png")
		if err := Curves(path, prefix+": "+q+" per epoch", series); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("plot: the history has none of %v", quantities)
	}
	return paths, nil
}
