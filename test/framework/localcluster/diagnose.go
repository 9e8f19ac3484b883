package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"

	"k8s.io/klog/v2"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// Diagnose runs the product's `diagnose` subcommand from the internet
// namespace, where the ACME CA validates from: it resolves the API host name
// with the CA's DNS server, fetches port 80 of the API VIP, and reads the
// cluster with the admin kubeconfig. args are added to its flags. It
// returns diagnose's exit code.
//
// kube-apiserver listens on the host's loopback, which the internet
// namespace cannot reach; while diagnose runs, the same loopback port
// inside the namespace is forwarded to it, so the kubeconfig works
// unchanged.
func Diagnose(ctx context.Context, s *State, args []string, stdout, stderr io.Writer) (int, error) {
	internet := &netns.Namespace{Name: s.Topology.Internet.Netns}
	apiAddress := net.JoinHostPort(loopback, strconv.Itoa(s.Ports["kube-apiserver"]))
	stop, err := forwardIntoNamespace(internet, apiAddress)
	if err != nil {
		return 0, err
	}
	defer stop()

	binary := filepath.Join(s.Images[s.OperandImage], OperatorBinary)
	argv := append([]string{"netns", "exec", internet.Name, binary, "diagnose",
		"--domain=" + APIHost, "--dns-server=" + s.Pebble.DNSServer, "--kubeconfig=" + s.Kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("running diagnose: %w", err)
	}
	return 0, nil
}

// forwardIntoNamespace listens on address inside ns and forwards every
// connection to the same address on the host, until stop is called.
func forwardIntoNamespace(ns *netns.Namespace, address string) (stop func(), err error) {
	ln, err := ns.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("forwarding %s into %s: %w", address, ns.Name, err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			inside, err := ln.Accept()
			if err != nil {
				select {
				case <-done:
				default:
					klog.ErrorS(err, "Forwarder stopped", "address", address, "netns", ns.Name)
				}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer inside.Close()
				// This goroutine's thread is in the host's namespace.
				host, err := net.Dial("tcp", address)
				if err != nil {
					return
				}
				defer host.Close()
				copied := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(host, inside); copied <- struct{}{} }()
				go func() { _, _ = io.Copy(inside, host); copied <- struct{}{} }()
				select {
				case <-copied:
				case <-done:
				}
			}()
		}
	}()
	return func() {
		close(done)
		ln.Close()
		wg.Wait()
	}, nil
}
