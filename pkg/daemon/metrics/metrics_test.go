package metrics

import (
	"io"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/pathprobe"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
)

var (
	_ proxy.Observer     = (*Metrics)(nil)
	_ proxy.ConnObserver = (*Metrics)(nil)
	_ rules.Observer     = (*Metrics)(nil)
	_ pathprobe.Observer = (*Metrics)(nil)
)

func TestExposition(t *testing.T) {
	m := New()
	m.RequestHandled(proxy.OutcomeForwarded, 200)
	m.RequestHandled(proxy.OutcomeForwarded, 200)
	m.RequestHandled(proxy.OutcomeRejected, 404)
	m.UpstreamResponded(3 * time.Millisecond)
	m.SetRulesPresent(false)
	m.SetRulesPresent(true)
	m.RulesRepaired(string(rules.TableMissing))
	m.ConnectionOpened()
	m.ConnectionOpened()
	m.ConnectionClosed()
	m.PathProbed(netip.MustParseAddr("192.0.2.100"), true, 1500*time.Millisecond)
	m.PathProbed(netip.MustParseAddr("2001:db8::100"), true, time.Second)
	m.PathProbed(netip.MustParseAddr("2001:db8::100"), false, 2*time.Second)

	recorder := httptest.NewRecorder()
	m.Handler().ServeHTTP(recorder, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(recorder.Body)
	for _, line := range []string{
		`http01_challenge_proxy_requests_total{code="200",outcome="forwarded"} 2`,
		`http01_challenge_proxy_requests_total{code="404",outcome="rejected"} 1`,
		`http01_challenge_proxy_upstream_response_seconds_bucket{le="0.005"} 1`,
		`http01_challenge_proxy_upstream_response_seconds_count 1`,
		`http01_challenge_proxy_rules_present 1`,
		`http01_challenge_proxy_rule_repairs_total{reason="table_missing"} 1`,
		`http01_challenge_proxy_active_connections 1`,
		`http01_challenge_proxy_path_ok{api_vip="192.0.2.100"} 1`,
		`http01_challenge_proxy_path_ok{api_vip="2001:db8::100"} 0`,
		`http01_challenge_proxy_path_probe_duration_seconds{api_vip="192.0.2.100"} 1.5`,
		`http01_challenge_proxy_path_probe_duration_seconds{api_vip="2001:db8::100"} 2`,
		`go_goroutines `,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("exposition lacks %q", line)
		}
	}
}

// With path probing off (or before the first probe) there is no path_ok
// series, so an alert on path_ok == 0 cannot fire for a daemon that never
// probed.
func TestNoPathSeriesBeforeAProbe(t *testing.T) {
	recorder := httptest.NewRecorder()
	New().Handler().ServeHTTP(recorder, httptest.NewRequest("GET", "/metrics", nil))
	if body := recorder.Body.String(); strings.Contains(body, "http01_challenge_proxy_path_") {
		t.Errorf("path series before any probe:\n%s", body)
	}
}
