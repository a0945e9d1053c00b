package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress prints Keras-style training progress: a live bar redrawn in
// place on a terminal, one plain line per epoch elsewhere.
type progress struct {
	w        io.Writer
	tty      bool
	epoch    int
	epochs   int
	steps    int
	start    time.Time
	lastDraw time.Time
	width    int // length of the last live line, to blank it out
}

func newProgress(w io.Writer, quiet bool) *progress {
	if quiet {
		return nil
	}
	if w == nil {
		w = os.Stdout
	}
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) epochBegin(epoch, epochs, steps int) {
	if p == nil {
		return
	}
	p.epoch, p.epochs, p.steps = epoch, epochs, steps
	p.start = time.Now()
	p.lastDraw = time.Time{}
	if p.tty {
		fmt.Fprintf(p.w, "Epoch %d/%d\n", epoch+1, epochs)
	}
}

// batch redraws the live bar at most ten times a second.
func (p *progress) batch(step int, logs Logs) {
	if p == nil || !p.tty {
		return
	}
	now := time.Now()
	if step+1 < p.steps && now.Sub(p.lastDraw) < 100*time.Millisecond {
		return
	}
	p.lastDraw = now
	done := step + 1
	elapsed := now.Sub(p.start)
	eta := time.Duration(float64(elapsed) / float64(done) * float64(p.steps-done))
	line := fmt.Sprintf("%s %s - ETA: %s - %s", counter(done, p.steps), bar(done, p.steps), round(eta), logs)
	p.draw(line)
}

func (p *progress) draw(line string) {
	pad := ""
	if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.width = len(line)
}

func (p *progress) epochEnd(logs Logs) {
	if p == nil {
		return
	}
	elapsed := time.Since(p.start)
	perStep := time.Duration(0)
	if p.steps > 0 {
		perStep = elapsed / time.Duration(p.steps)
	}
	if p.tty {
		line := fmt.Sprintf("%s %s - %s %s/step - %s", counter(p.steps, p.steps), bar(p.steps, p.steps), round(elapsed), round(perStep), logs)
		p.draw(line)
		fmt.Fprintln(p.w)
		p.width = 0
		return
	}
	fmt.Fprintf(p.w, "Epoch %d/%d - %d steps - %s %s/step - %s\n", p.epoch+1, p.epochs, p.steps, round(elapsed), round(perStep), logs)
}

func counter(done, total int) string {
	w := len(fmt.Sprint(total))
	return fmt.Sprintf("%*d/%d", w, done, total)
}

func bar(done, total int) string {
	const width = 30
	if total <= 0 {
		return "[" + strings.Repeat("=", width) + "]"
	}
	n := done * width / total
	if n >= width {
		return "[" + strings.Repeat("=", width) + "]"
	}
	return "[" + strings.Repeat("=", n) + ">" + strings.Repeat(".", width-n-1) + "]"
}

// round shortens a duration for display: 1.2s, 35ms, 812µs.
func round(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
