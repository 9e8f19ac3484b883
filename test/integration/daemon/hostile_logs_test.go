//go:build integration

package daemon

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHostileClientsCannotInflateTheLog sends, at the most verbose level the
// daemon logs requests at (-v=4: forwards and rejections), hundreds of
// requests carrying the largest Host and target the server accepts, plus
// requests that make the HTTP server itself complain, and checks that the
// log grows by a bounded amount, that it says how many lines it left out,
// and that the metrics still count every request.
func TestHostileClientsCannotInflateTheLog(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	daemon := c.startDaemon(t)
	target := netip.AddrPortFrom(apiVIP4, 80)
	// Just under the 12 KiB the server reads of a request line and headers.
	bigHost := "Host: " + strings.Repeat("h", 11<<10)
	kinds := []struct {
		name, raw string
		status    int
	}{
		{"forwarded, 11 KiB Host", request("GET "+challengePath+" HTTP/1.1", bigHost), 200},
		{"rejected, 11 KiB Host", request("GET /"+strings.Repeat("t", 200)+" HTTP/1.1", bigHost), 404},
		{"rejected, 8 KiB target", request("GET /"+strings.Repeat("t", 8<<10)+" HTTP/1.1", "Host: "+apiHost), 404},
		{"rejected, query with a semicolon", getTarget("/?a;b"), 400},
	}
	const perKind = 150
	before := len(daemon.Output())
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(kinds))
	for _, k := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perKind {
				ex := sendRaw(c.client, target, k.raw)
				if ex.err != nil || len(ex.responses) != 1 || ex.responses[0].status != k.status {
					errs <- fmt.Errorf("%s: %d responses, %v, want one %d", k.name, len(ex.responses), ex.err, k.status)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	// Lines left out are counted at the end of their second at the latest.
	time.Sleep(1500 * time.Millisecond)
	logged := daemon.Output()[before:]
	sent := perKind * len(kinds) * (12 << 10)

	// Each kind of line is limited per second (20, in a window that can
	// straddle one boundary more) and is at most ~1.5 KiB with its fields cut.
	seconds := int(elapsed/time.Second) + 2
	bound := seconds * 20 * len(kinds) * 1536
	t.Logf("%d requests carrying %d KiB in %v; the log grew by %d bytes (bound %d)", perKind*len(kinds), sent>>10, elapsed.Round(time.Millisecond), len(logged), bound)
	if len(logged) > bound {
		t.Errorf("the log grew by %d bytes for %d requests, over the bound of %d", len(logged), perKind*len(kinds), bound)
	}
	if strings.Contains(logged, strings.Repeat("h", 1024)) || strings.Contains(logged, strings.Repeat("t", 1024)) {
		t.Error("a client's Host or target was logged in full")
	}
	suppressed := regexp.MustCompile(`suppressed=([0-9]+)|lines left out since the last: ([0-9]+)`)
	total := 0
	for _, m := range suppressed.FindAllStringSubmatch(logged, -1) {
		n, _ := strconv.Atoi(m[1] + m[2])
		total += n
	}
	if total == 0 {
		t.Errorf("no line says how many were left out; log:\n%.4000s", logged)
	}

	for sample, want := range map[string]int{
		`http01_challenge_proxy_requests_total{code="200",outcome="forwarded"}`: perKind,
		`http01_challenge_proxy_requests_total{code="404",outcome="rejected"}`:  2 * perKind,
		`http01_challenge_proxy_requests_total{code="400",outcome="rejected"}`:  perKind,
	} {
		if got := metric(t, c.node, sample); got != strconv.Itoa(want) {
			t.Errorf("%s = %q, want %d: the counters must carry what the log leaves out", sample, got, want)
		}
	}
}
