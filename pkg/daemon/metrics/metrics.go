// Package metrics holds the daemon's Prometheus metrics, in a registry of its
// own so that only what is defined here is exposed, and the server that
// serves them: plain HTTP on loopback, or TLS with client certificates
// anywhere else.
package metrics

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "http01_challenge_proxy"

// Metrics implements the observer interfaces of the proxy and rules packages.
type Metrics struct {
	registry          *prometheus.Registry
	requests          *prometheus.CounterVec
	upstreamLatency   prometheus.Histogram
	rulesPresent      prometheus.Gauge
	ruleRepairs       *prometheus.CounterVec
	activeConnections prometheus.Gauge
	pathOK            *prometheus.GaugeVec
	pathProbeDuration *prometheus.GaugeVec
}

// New creates the metrics and registers them, with the Go runtime and process
// collectors, in a new registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "requests_total",
			Help:      "Requests received on the proxy port, by outcome (forwarded, rejected, upstream_error) and HTTP status code.",
		}, []string{"outcome", "code"}),
		upstreamLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "upstream_response_seconds",
			Help:      "Time from sending a challenge request to the ingress VIP until its response headers arrived.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		rulesPresent: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "rules_present",
			Help:      "1 when the last check found the nftables redirect rules exactly as desired, 0 otherwise.",
		}),
		ruleRepairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "rule_repairs_total",
			Help:      "Times the nftables rules were rewritten after something else changed them, by the first difference found.",
		}, []string{"reason"}),
		activeConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "active_connections",
			Help:      "Client connections currently open on the proxy port.",
		}),
		// Labelled by VIP so that a series exists only once a probe ran:
		// with probing off there is nothing for an alert to fire on.
		pathOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "path_ok",
			Help:      "1 when the last probe from this node of api_vip port 80 got the router's answer through the proxy, 0 otherwise.",
		}, []string{"api_vip"}),
		pathProbeDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "path_probe_duration_seconds",
			Help:      "How long the last probe from this node of api_vip port 80 took, answered or not.",
		}, []string{"api_vip"}),
	}
	m.registry.MustRegister(
		m.requests, m.upstreamLatency, m.rulesPresent, m.ruleRepairs, m.activeConnections, m.pathOK, m.pathProbeDuration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

func (m *Metrics) RequestHandled(outcome string, code int) {
	m.requests.WithLabelValues(outcome, strconv.Itoa(code)).Inc()
}

func (m *Metrics) UpstreamResponded(latency time.Duration) {
	m.upstreamLatency.Observe(latency.Seconds())
}

func (m *Metrics) SetRulesPresent(present bool) {
	if present {
		m.rulesPresent.Set(1)
	} else {
		m.rulesPresent.Set(0)
	}
}

func (m *Metrics) RulesRepaired(reason string) { m.ruleRepairs.WithLabelValues(reason).Inc() }

func (m *Metrics) PathProbed(apiVIP netip.Addr, ok bool, duration time.Duration) {
	value := 0.0
	if ok {
		value = 1
	}
	m.pathOK.WithLabelValues(apiVIP.String()).Set(value)
	m.pathProbeDuration.WithLabelValues(apiVIP.String()).Set(duration.Seconds())
}

func (m *Metrics) ConnectionOpened() { m.activeConnections.Inc() }
func (m *Metrics) ConnectionClosed() { m.activeConnections.Dec() }
