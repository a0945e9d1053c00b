package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shoshin-ml/shoshin/internal/atomicfile"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Width and Height are the size of every chart (at the PNG canvas's 96
// dots per inch: 768×480 pixels).
const (
	Width  = 8 * vg.Inch
	Height = 5 * vg.Inch
)

// Curves writes a PNG line chart of one or more series against the epoch
// (1, 2, ...) to path. series maps a legend name to its values, one per
// epoch; series are drawn in name order, and a name starting with "val"
// is drawn dashed, so "loss" and "val_loss" read as train and validation.
// Non-finite values are left out. It fails when there is nothing to draw.
func Curves(path, title string, series map[string][]float64) error {
	names := make([]string, 0, len(series))
	for name, ys := range series {
		if len(ys) > 0 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("plot: %s: no data to draw", path)
	}
	slices.Sort(names)

	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.X.Tick.Marker = epochTicks{}
	p.Y.Label.Text = yLabel(names)
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.XOffs = -vg.Points(8)
	p.Legend.YOffs = -vg.Points(4)
	drawn := 0
	for i, name := range names {
		xys := make(plotter.XYs, 0, len(series[name]))
		for e, y := range series[name] {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				xys = append(xys, plotter.XY{X: float64(e + 1), Y: y})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("plot: %s: series %q: %w", path, name, err)
		}
		c := seriesColor(name, i, names)
		line.Color = c
		line.Width = vg.Points(2)
		points.Color = c
		points.Shape = draw.CircleGlyph{}
		points.Radius = vg.Points(2.5)
		if strings.HasPrefix(name, "val") {
			line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		p.Add(line, points)
		p.Legend.Add(name, line, points)
		drawn++
	}
	if drawn == 0 {
		return fmt.Errorf("plot: %s: every value is NaN or infinite", path)
	}
	// Keep the points off the frame, and the legend off the curves: at
	// the top when they end lower than they start (losses), else at the
	// bottom (accuracies).
	p.X.Min, p.X.Max = p.X.Min-0.25, p.X.Max+0.25
	pad := (p.Y.Max - p.Y.Min) * 0.05
	if pad == 0 {
		pad = math.Max(math.Abs(p.Y.Max)*0.05, 0.01)
	}
	p.Y.Min, p.Y.Max = p.Y.Min-pad, p.Y.Max+pad
	p.Legend.Top = !rising(series, names)
	if !p.Legend.Top {
		p.Legend.YOffs = vg.Points(8)
	}
	return save(p, path)
}

// ROC writes a PNG chart of a ROC curve (false positive rate fpr against
// true positive rate tpr, as metrics.ROCCurve returns them) with the
// chance diagonal, titled with the area under the curve.
func ROC(path string, fpr, tpr []float64, auc float64) error {
	if len(fpr) != len(tpr) {
		return fmt.Errorf("plot: %s: %d false positive rates but %d true positive rates", path, len(fpr), len(tpr))
	}
	if len(fpr) < 2 {
		return fmt.Errorf("plot: %s: a ROC curve needs at least 2 points, got %d", path, len(fpr))
	}
	xys := make(plotter.XYs, len(fpr))
	for i := range fpr {
		if !in01(fpr[i]) || !in01(tpr[i]) {
			return fmt.Errorf("plot: %s: point %d (%v, %v) is outside [0, 1]²", path, i, fpr[i], tpr[i])
		}
		xys[i] = plotter.XY{X: fpr[i], Y: tpr[i]}
	}

	p := gplot.New()
	p.Title.Text = fmt.Sprintf("ROC curve (AUC = %.4f)", auc)
	p.X.Label.Text = "false positive rate"
	p.Y.Label.Text = "true positive rate"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -0.01, 1.01, -0.01, 1.01
	p.Add(plotter.NewGrid())
	p.Legend.XOffs = -vg.Points(8)
	p.Legend.YOffs = vg.Points(8)

	chance, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return fmt.Errorf("plot: %s: %w", path, err)
	}
	chance.Color = color.Gray{Y: 128}
	chance.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	curve, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("plot: %s: %w", path, err)
	}
	curve.Color = plotutil.Color(2)
	curve.Width = vg.Points(2)
	p.Add(chance, curve)
	p.Legend.Add(fmt.Sprintf("model (AUC %.4f)", auc), curve)
	p.Legend.Add("chance", chance)
	return save(p, path)
}

// rising reports whether the first series ends above where it starts.
func rising(series map[string][]float64, names []string) bool {
	var first, last float64
	found := false
	for _, y := range series[names[0]] {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		if !found {
			first, found = y, true
		}
		last = y
	}
	return last > first
}

// yLabel is the quantity the series share once a "val_" prefix is
// dropped ("loss" for "loss" and "val_loss"), or "" when they differ.
func yLabel(names []string) string {
	label := ""
	for i, name := range names {
		base := strings.TrimPrefix(name, "val_")
		if i > 0 && base != label {
			return ""
		}
		label = base
	}
	return label
}

func in01(v float64) bool { return v >= 0 && v <= 1 }

// seriesColor draws a lone training series in blue and its validation
// twin in orange; other series take the palette in order.
func seriesColor(name string, i int, names []string) color.Color {
	if len(names) <= 2 {
		if strings.HasPrefix(name, "val") {
			return plotutil.Color(3)
		}
		return plotutil.Color(2)
	}
	return plotutil.Color(i)
}

// epochTicks labels whole epochs only, at most about ten of them.
type epochTicks struct{}

// Ticks returns the tick marks between lo and hi.
func (epochTicks) Ticks(lo, hi float64) []gplot.Tick {
	first, last := math.Ceil(lo), math.Floor(hi)
	if last < first {
		return nil
	}
	step := math.Max(1, math.Ceil((last-first+1)/10))
	var ticks []gplot.Tick
	for v := first; v <= last; v += step {
		ticks = append(ticks, gplot.Tick{Value: v, Label: fmt.Sprint(int(v))})
	}
	return ticks
}

// save renders p as a PNG and writes it to path atomically (see
// internal/atomicfile), creating the folder if needed.
func save(p *gplot.Plot, path string) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".png" {
		return fmt.Errorf("plot: %s: want a .png file name, got extension %q", path, ext)
	}
	wt, err := p.WriterTo(Width, Height, "png")
	if err != nil {
		return fmt.Errorf("plot: %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	err = atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("plot: writing %s: %w", path, err)
	}
	return nil
}
