package metrics

import (
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// blockingCollector holds the first scrape in Collect until released, which
// keeps that scrape in progress on the server for as long as a test needs.
type blockingCollector struct {
	desc       *prometheus.Desc
	collecting chan struct{}
	released   chan struct{}
	held       atomic.Bool
}

func newBlockingCollector() *blockingCollector {
	return &blockingCollector{
		desc:       prometheus.NewDesc("test_blocking_collector_done", "1 once the collector was released.", nil, nil),
		collecting: make(chan struct{}),
		released:   make(chan struct{}),
	}
}

func (c *blockingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *blockingCollector) Collect(ch chan<- prometheus.Metric) {
	if c.held.CompareAndSwap(false, true) {
		close(c.collecting)
		<-c.released
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1)
}

// TestScrapeInProgressSurvivesAConnectionFlood: more idle connections than
// the server has slots close the oldest idle ones, never a scrape being
// served.
func TestScrapeInProgressSurvivesAConnectionFlood(t *testing.T) {
	p := newMetricsPKI(t)
	p.writeServing(t, "metrics")
	p.writeClientCA(t, p.clientCA)
	m, address := startTLSServer(t, p, DefaultAllowedClient)
	blocking := newBlockingCollector()
	m.registry.MustRegister(blocking)
	released := sync.OnceFunc(func() { close(blocking.released) })
	defer released()
	prometheus := p.clientCA.IssueClient(t, DefaultAllowedClient)

	inProgress := make(chan scrapeResult, 1)
	go func() { inProgress <- scrape(p, address, "GET", "/metrics", &prometheus, 0) }()
	select {
	case <-blocking.collecting:
	case got := <-inProgress:
		t.Fatalf("scrape ended before it was held: %d %v", got.status, got.err)
	}

	const flood = 40
	idle := make([]net.Conn, flood)
	for i := range idle {
		conn, err := net.Dial("tcp", address)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		idle[i] = conn
	}
	// Accepted in order: once this scrape is answered, so is the flood.
	if got := scrape(p, address, "GET", "/metrics", &prometheus, 0); got.err != nil || got.status != 200 {
		t.Fatalf("scrape during the flood got %d, %v; want 200", got.status, got.err)
	}

	released()
	if got := <-inProgress; got.err != nil || got.status != 200 || !strings.Contains(got.body, "test_blocking_collector_done 1") {
		t.Fatalf("scrape in progress during the flood got %d %.100q, %v; want 200 with every metric", got.status, got.body, got.err)
	}
	// The bound still holds: the in-progress scrape, the flood and the second
	// scrape were one over the limit per idle connection closed.
	if closed, expect := countClosed(idle), 1+flood+1-maxConnections; closed < expect {
		t.Errorf("%d idle connections closed, want at least %d", closed, expect)
	}
}

// countClosed counts the connections that the server has closed.
func countClosed(conns []net.Conn) int {
	deadline := time.Now().Add(200 * time.Millisecond)
	closed := 0
	for _, conn := range conns {
		conn.SetReadDeadline(deadline)
		if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			closed++
		}
	}
	return closed
}
