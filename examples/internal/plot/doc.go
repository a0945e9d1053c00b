// Package plot draws the PNG charts of the examples: training curves per
// epoch and ROC curves. It wraps gonum.org/v1/plot, which only the examples
// depend on; the library packages stay free of it.
//
// Files are written atomically, and their folder is created if missing: the chart goes to a temporary file in the
// same folder, which is then renamed over the target, so a reader never
// sees a half-written image.
//
//	hist, err := train.Fit(ctx, model, opt, trainSet, cfg)
//	...
//	paths, err := plot.History(".", "mnist", hist, "loss", "accuracy")
//	// paths: mnist-loss.png, mnist-accuracy.png
package plot
