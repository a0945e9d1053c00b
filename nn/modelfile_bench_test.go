package nn

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/shoshin-ml/shoshin/autograd"
	"github.com/shoshin-ml/shoshin/tensor"
)

// rssMB returns the process's resident memory in MB from /proc/self/status
// (0 where there is none).
func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func heapMB() float64 {
	debug.FreeOSMemory() // a collection that also returns free memory, so that RSS deltas are the model's
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// BenchmarkLoadModel100MB loads a 105 MB model file (one Dense 5120 → 5120)
// with LoadModel and MapModel and reports, besides the time, the growth of
// the Go heap and of the resident set after loading and after one forward
// pass. Run with -benchtime=1x: each iteration keeps its model until the
// next.
func BenchmarkLoadModel100MB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.safetensors")
	func() {
		m := NewSequential(NewDense(5120, 5120, WithSeed(1)))
		if err := SaveModel(path, m, ModelInfo{InputShape: []int{5120}}); err != nil {
			b.Fatal(err)
		}
	}()
	st, _ := os.Stat(path)
	x := tensor.Ones(1, 5120)
	for _, mode := range []string{"LoadModel", "MapModel"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(st.Size())
			var heap0, rss0, heap1, rss1, rss2 float64
			for range b.N {
				b.StopTimer()
				heap0, rss0 = heapMB(), rssMB()
				b.StartTimer()
				var m Module
				var mm *MappedModel
				var err error
				if mode == "LoadModel" {
					m, _, err = LoadModel(path)
				} else {
					mm, err = MapModel(path)
					if err == nil {
						m = mm.Model
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				heap1, rss1 = heapMB(), rssMB()
				m.Forward(autograd.NoGrad(x))
				rss2 = rssMB()
				if mm != nil {
					b.ReportMetric(float64(mm.Views), "views")
					_ = mm.Close()
				}
				runtime.KeepAlive(m)
				b.StartTimer()
			}
			b.ReportMetric(heap1-heap0, "heap-MB")
			b.ReportMetric(rss1-rss0, "rss-load-MB")
			b.ReportMetric(rss2-rss0, "rss-forward-MB")
		})
	}
}
