package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/daemonset"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/tlsprofile"
)

// The daemon stays lean only while it links nothing of the operator: one
// import of client-go, library-go or pkg/operator brings their package
// inits (tens of MiB on every node) back.
func TestLinksNoOperatorPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"k8s.io/client-go",
		"github.com/openshift/library-go",
		"github.com/openshift/client-go",
		"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed only %v", deps)
	}
	for _, dep := range deps {
		for _, prefix := range forbidden {
			if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
				t.Errorf("the daemon links %s", dep)
			}
		}
	}
}

// The DaemonSet the operator renders must start this binary with only
// flags it knows.
func TestRenderedDaemonSetRunsThisBinary(t *testing.T) {
	// The Old profile renders the most flags' worth of cipher suites.
	old := &configv1.APIServer{Spec: configv1.APIServerSpec{TLSSecurityProfile: &configv1.TLSSecurityProfile{Type: configv1.TLSProfileOldType}}}
	ds, err := daemonset.Render(gate.Decision{
		Enabled:     true,
		APIVIPs:     []string{"192.0.2.5", "2001:db8::5"},
		IngressVIPs: []string{"192.0.2.10", "2001:db8::10"},
		Port:        18080,
	}, "image", operatorv1.TraceAll, tlsprofile.FromAPIServer(old))
	if err != nil {
		t.Fatal(err)
	}
	container := ds.Spec.Template.Spec.Containers[0]
	if len(container.Command) != 1 || filepath.Base(container.Command[0]) != daemon.BinaryName {
		t.Fatalf("the DaemonSet runs %v, want the binary %s and no subcommand", container.Command, daemon.BinaryName)
	}
	if filepath.Base(must(filepath.Abs("."))) != daemon.BinaryName {
		t.Errorf("this main's directory is not named %s, so make build names its binary otherwise", daemon.BinaryName)
	}
	if err := daemon.NewDaemonCommand().ParseFlags(container.Args); err != nil {
		t.Errorf("the daemon rejects the DaemonSet's args %v: %v", container.Args, err)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
