package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
)

var (
	_ proxy.Observer     = (*Metrics)(nil)
	_ proxy.ConnObserver = (*Metrics)(nil)
	_ rules.Observer     = (*Metrics)(nil)
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
		`go_goroutines `,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("exposition lacks %q", line)
		}
	}
}
