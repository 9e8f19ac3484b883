package pathprobe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
)

// probeResult is one PathProbed call.
type probeResult struct {
	vip netip.Addr
	ok  bool
}

// recordingObserver hands probe outcomes to the test, as many as its
// buffer holds; it never blocks the prober, so that stopping it never
// waits for the test to read.
type recordingObserver struct{ results chan probeResult }

func (o *recordingObserver) PathProbed(vip netip.Addr, ok bool, _ time.Duration) {
	select {
	case o.results <- probeResult{vip, ok}:
	default:
	}
}

// next waits for the next outcome. The deadline only keeps a broken prober
// from hanging the test; nothing is asserted about how fast it answers.
func (o *recordingObserver) next(t *testing.T) probeResult {
	t.Helper()
	select {
	case r := <-o.results:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no probe within 30s")
		return probeResult{}
	}
}

// startProber runs a prober for 127.0.0.1:port that only probes when
// triggered (the interval is an hour).
func startProber(t *testing.T, port uint16) (*Prober, *recordingObserver) {
	t.Helper()
	observer := &recordingObserver{results: make(chan probeResult, 16)}
	p := New(Config{APIVIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Interval: time.Hour, Port: port}, observer)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return p, observer
}

func serverPort(t *testing.T, s *httptest.Server) uint16 {
	t.Helper()
	return netip.MustParseAddrPort(s.Listener.Addr().String()).Port()
}

func TestProberCountsTheRoutersAnswerThroughTheProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	// Stands in for API_VIP:80: a proxy that marks the router's 404.
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("Via", "1.1 "+proxy.Pseudonym)
		http.NotFound(w, r)
	}))
	defer server.Close()
	p, observer := startProber(t, serverPort(t, server))

	p.Trigger(CauseRulesRestored)
	if got := observer.next(t); !got.ok || got.vip != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("probe outcome %+v, want the path OK for 127.0.0.1", got)
	}
	p.Trigger(CauseRulesRestored)
	observer.next(t)

	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("%d requests, want 2", len(seen))
	}
	for _, r := range seen {
		token, ok := strings.CutPrefix(r.URL.Path, proxy.ChallengePathPrefix)
		if r.Method != http.MethodGet || !ok || len(token) != 43 || r.UserAgent() != userAgent {
			t.Errorf("probe %s %s (User-Agent %q), want GET of a 43-character token as %s", r.Method, r.URL.Path, r.UserAgent(), userAgent)
		}
	}
	if seen[0].URL.Path == seen[1].URL.Path {
		t.Errorf("both probes asked for %s; want a new random token each time", seen[0].URL.Path)
	}
}

func TestProberFailsWhatDidNotComeFromTheRouterThroughTheProxy(t *testing.T) {
	t.Run("a server without the proxy's Via", func(t *testing.T) {
		server := httptest.NewServer(http.NotFoundHandler())
		defer server.Close()
		p, observer := startProber(t, serverPort(t, server))
		p.Trigger(CauseRulesRestored)
		if got := observer.next(t); got.ok {
			t.Error("path OK, want broken")
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := netip.MustParseAddrPort(ln.Addr().String()).Port()
		ln.Close()
		p, observer := startProber(t, port)
		p.Trigger(CauseRulesRestored)
		if got := observer.next(t); got.ok {
			t.Error("path OK, want broken")
		}
	})
}

func TestProberProbesEveryInterval(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Via", "1.1 "+proxy.Pseudonym)
		http.NotFound(w, r)
	}))
	defer server.Close()
	observer := &recordingObserver{results: make(chan probeResult, 16)}
	p := New(Config{APIVIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Interval: 10 * time.Millisecond, Port: serverPort(t, server)}, observer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	// Without a trigger, only the ticker can cause these.
	for range 3 {
		if got := observer.next(t); !got.ok {
			t.Fatalf("probe outcome %+v, want OK", got)
		}
	}
	cancel()
	<-done
}

func TestTriggerNeverBlocks(t *testing.T) {
	p := New(Config{}, &recordingObserver{})
	for range 10 {
		p.Trigger(CauseRulesRestored)
	}
	if len(p.triggers) != 1 {
		t.Errorf("%d pending triggers, want them merged into 1", len(p.triggers))
	}
}
