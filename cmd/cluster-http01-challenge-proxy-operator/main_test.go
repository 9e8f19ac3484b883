package main

import (
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/daemonset"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/tlsprofile"
)

// The DaemonSet the operator renders must start the daemon this binary
// has: the same binary name, the subcommand, and only flags it knows.
func TestRenderedDaemonSetRunsThisBinary(t *testing.T) {
	// The Old profile renders the most flags' worth of cipher suites.
	old := &configv1.APIServer{Spec: configv1.APIServerSpec{TLSSecurityProfile: &configv1.TLSSecurityProfile{Type: configv1.TLSProfileOldType}}}
	ds, err := daemonset.Render(gate.Decision{
		Enabled:     true,
		APIVIPs:     []string{"192.0.2.5", "fd00::5"},
		IngressVIPs: []string{"192.0.2.10", "fd00::10"},
		Port:        18080,
	}, "image", operatorv1.TraceAll, tlsprofile.FromAPIServer(old))
	if err != nil {
		t.Fatal(err)
	}
	container := ds.Spec.Template.Spec.Containers[0]

	root := newRootCommand()
	if container.Command[0] != root.Name() {
		t.Errorf("the DaemonSet runs %q, the binary is %q", container.Command[0], root.Name())
	}
	sub, rest, err := root.Find(container.Command[1:])
	if err != nil || len(rest) != 0 || sub.Name() != "daemon" {
		t.Fatalf("the DaemonSet's command %v does not name the daemon subcommand: %v (%v)", container.Command, err, rest)
	}
	if err := sub.ParseFlags(container.Args); err != nil {
		t.Errorf("the daemon rejects the DaemonSet's args %v: %v", container.Args, err)
	}
}

// The operator Deployment in manifests/ and local runs use these flags.
func TestOperatorCommandFlags(t *testing.T) {
	sub, _, err := newRootCommand().Find([]string{"operator"})
	if err != nil || sub.Name() != "operator" {
		t.Fatalf("no operator subcommand: %v", err)
	}
	args := []string{"--config=/var/run/configmaps/config/config.yaml", "--kubeconfig=/tmp/kubeconfig", "--namespace=openshift-http01-challenge-proxy-operator"}
	if err := sub.ParseFlags(args); err != nil {
		t.Errorf("operator rejects %v: %v", args, err)
	}
}

func TestRootWithoutSubcommandFails(t *testing.T) {
	root := newRootCommand()
	root.SetArgs(nil)
	root.SetOut(new(discard))
	if err := root.Execute(); err == nil {
		t.Errorf("running the binary without a subcommand succeeded")
	}
}

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }
