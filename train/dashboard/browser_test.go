//go:build browser

// The page in a real browser. These tests need Chromium (Debian's
// chromium package, or the binary named by $CHROMIUM) and run with
//
//	go test -tags browser -run Browser ./train/dashboard
//
// as .ci/run does after installing it. Without the tag they are not
// built, so plain `go test ./...` needs no browser; with it, a missing
// browser is a failure, never a skip.

package dashboard

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/shoshin-ml/shoshin/train"
)

// chromium returns the browser to drive: $CHROMIUM, or chromium or
// chromium-browser on the PATH.
func chromium(t *testing.T) string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: install Debian's chromium package or set $CHROMIUM (.ci/run installs it)")
	return ""
}

// gate pauses training at chosen global steps until the test lets it go
// on, so the page can be inspected mid-run without sleeping.
type gate struct {
	train.BaseCallback
	at      map[int]chan struct{} // step → released by the test
	reached chan int
}

func (g *gate) OnBatchEnd(s *train.State, _ train.Logs) error {
	step := s.Epoch*s.Steps + s.Step + 1
	if release, ok := g.at[step]; ok {
		g.reached <- step
		<-release
	}
	return nil
}

// points returns a JS expression: the number of points drawn for run id
// on the curve named key.
func points(id, key string) string {
	return `(() => { const el = document.querySelector('#charts polyline.curve[data-run="` + id + `"][data-key="` + key + `"]'); return el ? +el.dataset.n : 0; })()`
}

// TestBrowserLiveCurves loads the page while a run trains beside a
// finished one, and checks in Chromium that the live run's curve gets its
// points as they happen (without a reload), that the finished run shows
// its confusion matrix, and that a reload shows the whole history. It
// saves a screenshot to $DASHBOARD_SCREENSHOT, or into the test's
// temporary folder (logged).
func TestBrowserLiveCurves(t *testing.T) {
	exe := chromium(t)
	d := newDashboard(t)
	_, err := fitLR(context.Background(), t, 4, 0.01, d.Run("lr 0.01, finished", WithConfusion(blobs(30, 2), "left", "right", "top")))
	require.NoError(t, err)

	g := &gate{at: map[int]chan struct{}{6: make(chan struct{}), 14: make(chan struct{})}, reached: make(chan int)}
	live := d.Run("lr 0.05, live", WithConfusion(blobs(30, 2), "left", "right", "top"))
	fitted := make(chan error, 1)
	go func() {
		_, err := fit(context.Background(), t, 4, live, g)
		fitted <- err
	}()
	defer func() { // let training finish if a check fails
		for _, c := range g.at {
			select {
			case <-c:
			default:
				close(c)
			}
		}
	}()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1280, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTime()
	start := time.Now()

	require.Equal(t, 6, <-g.reached)
	wait := func(expr string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond)))
		require.NoError(t, err, expr)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(d.URL())))
	// Training waits at step 6: the page shows exactly 6 steps of the
	// live run, and the finished run's 16.
	wait(points("2", "loss") + ` === 6`)
	wait(points("1", "loss") + ` === 16`)
	n1, err := chromedp.Run(ctx, chromedp.Evaluate[int](points("2", "epoch loss")))
	require.NoError(t, err)
	require.Equal(t, 1, n1, "one epoch done at step 6")

	// Let it run to step 14: the same page, without a reload, draws the
	// new points as they stream in.
	close(g.at[6])
	require.Equal(t, 14, <-g.reached)
	wait(points("2", "loss") + ` === 14`)
	wait(points("2", "batch_loss") + ` === 14`)
	wait(points("2", "epoch loss") + ` === 3`)
	wait(points("2", "val_accuracy") + ` === 3`)
	wait(`document.querySelector('.run[data-run="2"] .state').textContent === 'running'`)
	close(g.at[14])
	require.NoError(t, <-fitted)
	wait(`document.querySelector('.run[data-run="2"] .state').textContent === 'done'`)
	wait(`document.querySelectorAll('table.confusion').length === 2`)
	wait(points("2", "lr") + ` === 16`)
	wait(points("2", "throughput") + ` === 16`)

	// A reload rebuilds everything from the server's history.
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
	wait(points("2", "loss") + ` === 16`)
	wait(points("2", "val_loss") + ` === 4`)
	wait(`document.querySelectorAll('table.confusion').length === 2`)
	sum, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('table.confusion')[1].querySelectorAll('td')].reduce((a, td) => a + +td.textContent, 0)`))
	require.NoError(t, err)
	require.Equal(t, 30, sum, "the matrix counts the 30 validation examples")

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := os.Getenv("DASHBOARD_SCREENSHOT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "dashboard.png")
	}
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s (%d bytes); browser part took %v", path, len(png), time.Since(start).Round(time.Millisecond))
}
