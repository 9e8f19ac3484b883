package daemon

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// FuzzParseVIPs checks parseVIPs on arbitrary lists: it never panics, and
// what it accepts is a non-empty list of distinct addresses that can be a
// VIP, each spelled canonically when printed back.
func FuzzParseVIPs(f *testing.F) {
	for _, seed := range []string{
		"192.0.2.10", "192.0.2.10,2001:db8::10", "192.0.2.10, 2001:db8::10", "", ",", "192.0.2.10,192.0.2.10",
		"::ffff:192.0.2.10", "fe80::1%eth0", "0.0.0.0", "127.0.0.1", "ff02::1", "192.0.2.300", "2001:0db8::0010", " 192.0.2.1 ",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		vips, err := parseVIPs(strings.Split(list, ","))
		if err != nil {
			if vips != nil {
				t.Fatalf("parseVIPs(%q) returned %v with error %v", list, vips, err)
			}
			return
		}
		if len(vips) == 0 {
			t.Fatalf("parseVIPs(%q) accepted an empty list", list)
		}
		for i, vip := range vips {
			switch {
			case !vip.IsValid(), vip.Zone() != "", vip.Is4In6(), vip.IsUnspecified(), vip.IsLoopback(), vip.IsMulticast(), vip.IsLinkLocalUnicast():
				t.Fatalf("parseVIPs(%q) accepted %v, which cannot be a VIP", list, vip)
			case slices.Contains(vips[:i], vip):
				t.Fatalf("parseVIPs(%q) accepted %v twice", list, vip)
			}
			if again, err := netip.ParseAddr(vip.String()); err != nil || again != vip {
				t.Fatalf("%v does not print back to itself: %v, %v", vip, again, err)
			}
		}
	})
}

// FuzzOptions parses arbitrary values of every flag as the command line
// would, then validates them. It checks that nothing panics, that every
// error names the flag at fault, and that a configuration that validates
// keeps every promise the daemon relies on.
func FuzzOptions(f *testing.F) {
	f.Add("192.0.2.10,2001:db8::10", "192.0.2.20", 8888, "127.0.0.1:29448", "127.0.0.1:9450", "", "", "", "system:serviceaccount:openshift-monitoring:prometheus-k8s", int64(30*time.Second), 256, int64(30*time.Second))
	f.Add("192.0.2.10", "192.0.2.20", 18888, "127.0.0.1:29448", "0.0.0.0:9450", "/tls/tls.crt", "/tls/tls.key", "/ca/client-ca-file", "a,b", int64(time.Second), 1, int64(0))
	f.Add("192.0.2.10", "192.0.2.10", 80, "localhost:29448", "[::]:9450", "/tls/tls.crt", "", "", ",", int64(0), 0, int64(-time.Second))
	f.Add(`"192.0.2.10`, "2001:db8::20", 9450, "127.0.0.1:8888", "127.0.0.1:29448", " ", "x", "y", `"a,b",c`, int64(time.Hour), 65536, int64(time.Millisecond))
	f.Fuzz(func(t *testing.T, apiVIPs, ingressVIPs string, listenPort int, health, metricsAddress, certFile, keyFile, clientCAFile, allowedClients string, resync int64, maxConnections int, pathProbe int64) {
		o := NewOptions()
		fs := pflag.NewFlagSet("daemon", pflag.ContinueOnError)
		o.AddFlags(fs)
		args := []string{
			"--api-vips=" + apiVIPs, "--ingress-vips=" + ingressVIPs,
			"--listen-port=" + strconv.Itoa(listenPort),
			"--health-listen-address=" + health, "--metrics-listen-address=" + metricsAddress,
			"--metrics-tls-cert-file=" + certFile, "--metrics-tls-key-file=" + keyFile, "--metrics-client-ca-file=" + clientCAFile,
			"--metrics-allowed-clients=" + allowedClients,
			"--resync-interval=" + time.Duration(resync).String(),
			"--max-connections=" + strconv.Itoa(maxConnections),
			"--path-probe-interval=" + time.Duration(pathProbe).String(),
		}
		if err := fs.Parse(args); err != nil {
			return // pflag's own errors (a list that is not CSV) name the flag
		}
		cfg, err := o.Config()
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "--") {
					t.Fatalf("error line %q does not start with the flag at fault", line)
				}
			}
			return
		}
		checkConfigInvariants(t, cfg)
	})
}

// checkConfigInvariants fails the test if cfg breaks a promise of Config.
func checkConfigInvariants(t *testing.T, cfg Config) {
	t.Helper()
	if len(cfg.APIVIPs) == 0 || len(cfg.IngressVIPs) == 0 {
		t.Fatalf("a configuration without VIPs: %+v", cfg)
	}
	for _, vip := range cfg.APIVIPs {
		if slices.Contains(cfg.IngressVIPs, vip) {
			t.Fatalf("%v is both an API and an ingress VIP", vip)
		}
	}
	ports := []uint16{cfg.ListenPort, cfg.HealthAddress.Port(), cfg.Metrics.Address.Port()}
	if cfg.ListenPort < minListenPort || ports[1] == 0 || ports[2] == 0 || ports[0] == ports[1] || ports[0] == ports[2] || ports[1] == ports[2] {
		t.Fatalf("listen, health and metrics ports %v are not distinct valid ports", ports)
	}
	tls := cfg.Metrics.TLS
	if !cfg.Metrics.Address.Addr().IsLoopback() && tls == nil {
		t.Fatalf("metrics on %v without TLS", cfg.Metrics.Address)
	}
	if tls != nil && (tls.Files.CertFile == "" || tls.Files.KeyFile == "" || tls.Files.ClientCAFile == "" || len(tls.AllowedClients) == 0) {
		t.Fatalf("incomplete metrics TLS: %+v", tls)
	}
	if tls != nil && slices.Contains(tls.AllowedClients, "") {
		t.Fatalf("an empty allowed client name: %q", tls.AllowedClients)
	}
	if cfg.ResyncInterval < minResyncInterval || cfg.ResyncInterval > maxResyncInterval {
		t.Fatalf("resync interval %v out of range", cfg.ResyncInterval)
	}
	if cfg.MaxConnections < 1 || cfg.MaxConnections > maxConnectionLimit {
		t.Fatalf("max connections %d out of range", cfg.MaxConnections)
	}
	if p := cfg.PathProbeInterval; p != 0 && (p < minPathProbeInterval || p > maxPathProbeInterval) {
		t.Fatalf("path probe interval %v is neither off nor in range", p)
	}
}
