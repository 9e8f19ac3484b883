package daemon

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDaemonCommandFlags(t *testing.T) {
	cmd := NewDaemonCommand()
	if cmd.Use != BinaryName {
		t.Errorf("Use = %q", cmd.Use)
	}
	expectDefaults := map[string]string{
		"api-vips":                "[]",
		"ingress-vips":            "[]",
		"listen-port":             "8888",
		"health-listen-address":   "127.0.0.1:29448",
		"metrics-listen-address":  "127.0.0.1:9450",
		"metrics-tls-cert-file":   "",
		"metrics-tls-key-file":    "",
		"metrics-client-ca-file":  "",
		"metrics-allowed-clients": "[system:serviceaccount:openshift-monitoring:prometheus-k8s]",
		"resync-interval":         "30s",
		"max-connections":         "1024",
		"path-probe-interval":     "30s",
		"v":                       "0",
		"vmodule":                 "",
	}
	for name, expect := range expectDefaults {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			t.Errorf("flag --%s missing", name)
			continue
		}
		if f.DefValue != expect {
			t.Errorf("--%s default %q, want %q", name, f.DefValue, expect)
		}
	}
	if f := cmd.Flags().ShorthandLookup("v"); f == nil || f.Name != "v" {
		t.Errorf("-v is not the klog verbosity flag")
	}

	if err := cmd.ParseFlags([]string{"--api-vips=192.0.2.10,2001:db8::10", "--ingress-vips", "192.0.2.20", "--ingress-vips", "2001:db8::20"}); err != nil {
		t.Fatal(err)
	}
	for name, expect := range map[string]string{"api-vips": "[192.0.2.10,2001:db8::10]", "ingress-vips": "[192.0.2.20,2001:db8::20]"} {
		if got := cmd.Flags().Lookup(name).Value.String(); got != expect {
			t.Errorf("--%s parsed as %s, want %s", name, got, expect)
		}
	}
}

// TestDaemonCommandRejectsBadFlags runs the command as main would: bad flags
// must end in an error naming the problem, before anything touches the
// kernel, and never in a panic.
func TestDaemonCommandRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		expect string
	}{
		{name: "no flags", args: nil, expect: "--api-vips: at least one address is required"},
		{name: "unknown flag", args: []string{"--api-vip=192.0.2.10"}, expect: "unknown flag: --api-vip"},
		{name: "port not a number", args: []string{"--listen-port=http"}, expect: `invalid argument "http"`},
		{name: "stray argument", args: []string{"extra", "--api-vips=192.0.2.10", "--ingress-vips=192.0.2.20"}, expect: `unknown command "extra"`},
		{
			name:   "API VIP equals ingress VIP",
			args:   []string{"--api-vips=192.0.2.10", "--ingress-vips=192.0.2.10"},
			expect: "192.0.2.10 is also an API VIP",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := NewDaemonCommand()
			cmd.SetArgs(tc.args)
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.expect) {
				t.Errorf("Execute() error = %v, want one containing %q", err, tc.expect)
			}
		})
	}
}

type fakeSyncState struct {
	inSync    bool
	heartbeat time.Time
}

func (f *fakeSyncState) InSync() bool             { return f.inSync }
func (f *fakeSyncState) LastHeartbeat() time.Time { return f.heartbeat }

func TestHealth(t *testing.T) {
	now := time.Unix(10000, 0)
	tests := []struct {
		name        string
		listening   bool
		stopping    bool
		inSync      bool
		heartbeat   time.Duration // age
		expectReady string        // status and body
		expectLive  string
	}{
		{name: "starting: not listening yet", heartbeat: 0, expectReady: "503 proxy listener is not up", expectLive: "200 ok"},
		{name: "listening, rules not installed yet", listening: true, expectReady: "503 nftables rules do not match the desired state", expectLive: "200 ok"},
		{name: "serving", listening: true, inSync: true, heartbeat: 29 * time.Second, expectReady: "200 ok", expectLive: "200 ok"},
		{name: "rules flushed by someone else", listening: true, inSync: false, expectReady: "503 nftables rules do not match the desired state", expectLive: "200 ok"},
		{name: "shutting down", listening: true, inSync: true, stopping: true, expectReady: "503 shutting down", expectLive: "200 ok"},
		{name: "rules loop wedged", listening: true, inSync: true, heartbeat: 91 * time.Second, expectReady: "200 ok", expectLive: "503 rules loop has not run for 1m31s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHealth(&fakeSyncState{inSync: tc.inSync, heartbeat: now.Add(-tc.heartbeat)}, 30*time.Second)
			h.now = func() time.Time { return now }
			h.listening.Store(tc.listening)
			h.stopping.Store(tc.stopping)
			for path, expect := range map[string]string{"/readyz": tc.expectReady, "/healthz": tc.expectLive} {
				recorder := httptest.NewRecorder()
				h.handler().ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, path, nil))
				body, _ := io.ReadAll(recorder.Body)
				if got := fmt.Sprintf("%d %s", recorder.Code, strings.TrimSpace(string(body))); got != expect {
					t.Errorf("%s = %q, want %q", path, got, expect)
				}
			}
		})
	}
}
