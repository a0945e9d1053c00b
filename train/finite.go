package train

import (
	"fmt"
	"math"

	"github.com/shoshin-ml/shoshin/internal/kernel"
	"github.com/shoshin-ml/shoshin/nn"
)

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// checkParams returns an error naming the first parameter holding a NaN or
// an infinity. It sums each parameter with the vector kernel (a NaN or an
// infinity makes the sum non-finite) and scans element by element only
// when a sum is not finite, so an overflowing sum of finite values is not
// mistaken for a bad parameter.
func checkParams(params []*nn.Param) error {
	for _, p := range params {
		d := p.Value().Data()
		if finite(float64(kernel.Sum(d))) {
			continue
		}
		for i, v := range d {
			if !finite(float64(v)) {
				return fmt.Errorf("parameter %s holds %v at flat index %d", p.Name, v, i)
			}
		}
	}
	return nil
}
