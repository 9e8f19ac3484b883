package main

import (
	"testing"
)

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
