// Package dashboard shows training in the browser while it runs: a page,
// served by the training program itself, with live curves of the loss and
// every metric (training per step and per epoch, validation per epoch),
// the learning rate, the throughput in examples or tokens per second, the
// elapsed and remaining time, and when training ends the confusion matrix
// of a classifier or the samples of a language model. Several runs of one
// program are drawn side by side, one colour each. Everything the page
// needs is embedded in the binary: it works offline and installs nothing.
//
//	d, err := dashboard.New(":8080") // 127.0.0.1:8080
//	if err != nil { ... }
//	defer d.Close()
//	fmt.Println("dashboard:", d.URL())
//	cfg.Callbacks = append(cfg.Callbacks, d.Run("cnn", dashboard.WithConfusion(testSet)))
//	hist, err := train.Fit(ctx, model, opt, trainSet, cfg)
//
// A Dashboard is itself a train.Callback (each Fit becomes "run 1",
// "run 2", ...), and safe to share between Fits running at once; Run
// makes a named run with options of its own. Its hooks copy a few numbers
// and return: training never waits for the page.
//
// # Addresses
//
// New listens on localhost unless told otherwise: ":8080" means
// 127.0.0.1:8080, ":0" a free port (see URL). Name a host, "0.0.0.0:8080",
// to serve other machines. New("") listens nowhere: mount Handler on your
// own server, under any prefix (http.StripPrefix), since the page's links
// are relative. Close ends the streams and shuts the server down.
//
// # Data API
//
// The page reads the same API other tools can:
//
//	GET /api/runs       JSON array of runs without their curves
//	GET /api/runs/{id}  JSON of one run (id from 1) with its curves
//	GET /api/events     Server-Sent Events: "snapshot" first, then
//	                    "run", "step" and "epoch" events as they happen
//
// A run's JSON holds its status: id, name, state ("waiting", "running",
// "done", "stopped" when cancelled, "failed" with error), start (RFC 3339),
// epoch (from 0) and epochs, step (done in the current epoch) and steps
// (per epoch), elapsed and remaining (seconds; remaining is -1 while
// unknown), throughput in unit ("examples" or "tokens") per second over
// the current epoch, and max_points. With them come confusion ({labels,
// counts}: counts[i][j] examples of labels[i] predicted as labels[j]),
// samples ([{prompt, text}]) and warnings (what could not be computed).
// GET /api/runs/{id} adds the curves: step_logs and epoch_logs, arrays of
// points {x, t, v, n}: x is the position in steps counted from the start
// of epoch 0 (an epoch's point sits at its last step), t the seconds since
// the run began, v the values logged there and n, when present, the number
// of points merged into this one.
//
// A step point holds what Fit logs after each batch (the epoch's running
// loss and metrics, as Keras shows them), batch_loss (the loss of that
// batch alone), lr and throughput. An epoch point holds the epoch's logs,
// training and val_ ones, lr and epoch_seconds. Values that are NaN or
// infinite are left out, as JSON cannot carry them.
//
// Each event of the stream has an id (a counter) and JSON data: "snapshot"
// is {seq, runs: [run with curves, ...]} (what a reloaded page starts
// from), "run" a run without curves (it started, ended, or gained a
// sample or matrix), "step" and "epoch" are {status, point} for the new
// point. A client that falls far behind receives a new snapshot instead
// of the events it missed.
//
// # Bounded memory
//
// Each series keeps at most WithMaxPoints points (DefaultMaxPoints): when
// full, neighbouring points merge pairwise into their means, so a long run
// keeps its whole curve, coarser in the past, in fixed memory. The page
// merges the points it receives the same way.
//
// # Why hand-written SVG
//
// The page draws its charts with about three hundred lines of JavaScript
// that write SVG (assets/app.js), with no library: nothing to vendor,
// update or license, a page of a few kilobytes, and curves whose points
// are plain DOM elements that a test can count. The stream sends only new
// points, so the page redraws incrementally without fetching images.
package dashboard
