package serve

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Handler's Prometheus metrics.
type metrics struct {
	requests  *prometheus.CounterVec
	byCode    map[int]prometheus.Counter // the codes /predict answers with
	latency   prometheus.Histogram
	batchSize prometheus.Histogram
	examples  prometheus.Counter
}

// codes are the statuses /predict answers with.
var codes = []int{
	http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed,
	http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
	http.StatusInternalServerError, http.StatusServiceUnavailable,
}

func newMetrics(reg *prometheus.Registry, maxBatch int, queueDepth, running func() float64) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoshin_serve_requests_total",
			Help: "Prediction requests answered, by HTTP status code.",
		}, []string{"code"}),
		byCode: map[int]prometheus.Counter{},
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shoshin_serve_request_duration_seconds",
			Help:    "Time from a prediction request's arrival to its answer.",
			Buckets: prometheus.ExponentialBuckets(25e-6, 2, 18), // 25 µs to 3.3 s
		}),
		examples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shoshin_serve_examples_total",
			Help: "Examples run through the model.",
		}),
	}
	var buckets []float64
	for b := 1; ; b *= 2 {
		buckets = append(buckets, float64(min(b, maxBatch)))
		if b >= maxBatch {
			break
		}
	}
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "shoshin_serve_batch_size",
		Help:    "Examples per batch run through the model.",
		Buckets: buckets,
	})
	for _, c := range codes {
		m.byCode[c] = m.requests.WithLabelValues(strconv.Itoa(c))
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.latency, m.batchSize, m.examples,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shoshin_serve_queue_depth",
			Help: "Prediction requests queued for the model, not yet running.",
		}, queueDepth),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shoshin_serve_batches_running",
			Help: "Batches being run through the model.",
		}, running),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// count records one answered request.
func (m *metrics) count(code int) {
	c, ok := m.byCode[code]
	if !ok {
		c = m.requests.WithLabelValues(strconv.Itoa(code))
	}
	c.Inc()
}
