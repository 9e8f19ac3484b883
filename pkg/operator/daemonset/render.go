// Package daemonset owns the proxy's DaemonSet: it renders it from bindata
// and the gate's decision, applies or deletes it, and turns its status into
// the operator's DaemonSet* conditions.
package daemonset

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	operatorv1 "github.com/openshift/api/operator/v1"
	"github.com/openshift/library-go/pkg/operator/loglevel"
	"github.com/openshift/library-go/pkg/operator/resource/resourceread"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/bindata"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/tlsprofile"
)

// Manifest is the bindata file the DaemonSet is rendered from.
const Manifest = "assets/daemonset.yaml"

const (
	containerName = "proxy"
	proxyPortName = "proxy"
)

// Render returns the DaemonSet that runs the proxy for an enabled decision.
// It is pure: the same inputs always give the same DaemonSet, which is what
// keeps resourceapply's spec hash, and so the pods, stable across syncs and
// operator restarts.
//
// The daemon learns everything from its arguments: the VIPs and port from the
// decision, its verbosity from the operator's spec.logLevel, and its metrics
// endpoint's TLS version and cipher suites from the cluster's TLS security
// profile.
func Render(decision gate.Decision, image string, logLevel operatorv1.LogLevel, tls tlsprofile.Profile) (*appsv1.DaemonSet, error) {
	if !decision.Enabled {
		return nil, fmt.Errorf("refusing to render the DaemonSet for a disabled proxy (%s)", decision.Reason)
	}
	if image == "" {
		return nil, errors.New("the operand image is empty; the operator Deployment must set it")
	}

	obj, err := resourceread.ReadGenericWithUnstructured(bindata.MustAsset(Manifest))
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", Manifest, err)
	}
	ds, ok := obj.(*appsv1.DaemonSet)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not a DaemonSet", Manifest, obj)
	}

	container := findContainer(ds.Spec.Template.Spec.Containers, containerName)
	if container == nil {
		return nil, fmt.Errorf("%s has no container named %q", Manifest, containerName)
	}
	port := findPort(container.Ports, proxyPortName)
	if port == nil {
		return nil, fmt.Errorf("%s has no container port named %q", Manifest, proxyPortName)
	}

	container.Image = image
	container.Args = append(container.Args, DaemonArgs(decision, logLevel, tls)...)
	// Declared so that the scheduler sees the host port as taken; with the
	// host network it is the port the proxy really listens on.
	port.ContainerPort = decision.Port
	port.HostPort = decision.Port
	return ds, nil
}

// DaemonArgs are the arguments that change with the cluster, appended to the
// fixed ones of the manifest.
func DaemonArgs(decision gate.Decision, logLevel operatorv1.LogLevel, tls tlsprofile.Profile) []string {
	args := append(decisionArgs(decision), tls.Args()...)
	return append(args, "-v="+strconv.Itoa(loglevel.LogLevelToVerbosity(logLevel)))
}

func decisionArgs(decision gate.Decision) []string {
	return []string{
		"--api-vips=" + strings.Join(decision.APIVIPs, ","),
		"--ingress-vips=" + strings.Join(decision.IngressVIPs, ","),
		"--listen-port=" + strconv.Itoa(int(decision.Port)),
	}
}

// Serves reports whether ds was rendered for decision: its proxy container
// has the decision's VIPs and port. It lets a reader of a possibly stale
// DaemonSet tell "rolled out" from "rolled out, but the previous
// configuration".
func Serves(ds *appsv1.DaemonSet, decision gate.Decision) bool {
	container := findContainer(ds.Spec.Template.Spec.Containers, containerName)
	if container == nil {
		return false
	}
	have := map[string]bool{}
	for _, arg := range container.Args {
		have[arg] = true
	}
	for _, arg := range decisionArgs(decision) {
		if !have[arg] {
			return false
		}
	}
	return true
}

func findContainer(containers []corev1.Container, name string) *corev1.Container {
	for i := range containers {
		if containers[i].Name == name {
			return &containers[i]
		}
	}
	return nil
}

func findPort(ports []corev1.ContainerPort, name string) *corev1.ContainerPort {
	for i := range ports {
		if ports[i].Name == name {
			return &ports[i]
		}
	}
	return nil
}
