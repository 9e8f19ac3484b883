package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// EgressSocket is where the API server's connections to the nodes go: an
// HTTP CONNECT proxy on a unix socket, as konnectivity serves one. A path
// socket is reachable from every network namespace.
func (s *State) EgressSocket() string {
	return "/run/" + NamespacePrefix(s.Instance, s.Dir) + "egress.sock"
}

// ServeNodeEgress runs the API server's egress proxy until ctx is done:
// it tunnels a CONNECT to a node's address from inside that node's network
// namespace, and refuses every other target, so that the API server
// reaches the kubelets (kubectl logs, exec) and nothing else.
func ServeNodeEgress(ctx context.Context, s *State) error {
	socket := s.EgressSocket()
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	defer os.Remove(socket)
	byAddress := map[netip.Addr]string{}
	for _, n := range s.Topology.NetworkNodes() {
		for _, a := range n.Addresses {
			byAddress[a] = n.Netns
		}
	}
	server := &http.Server{Handler: egressHandler(byAddress), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	if err := server.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func egressHandler(byAddress map[netip.Addr]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "only CONNECT", http.StatusMethodNotAllowed)
			return
		}
		target, err := netip.ParseAddrPort(r.Host)
		ns, known := byAddress[target.Addr()]
		if err != nil || !known {
			http.Error(w, fmt.Sprintf("%s is not a node of the local cluster", r.Host), http.StatusForbidden)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		upstream, err := (&netns.Namespace{Name: ns}).DialContext(ctx, "tcp", target.String())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer upstream.Close()
		client, buffered, err := http.NewResponseController(w).Hijack()
		if err != nil {
			klog.ErrorS(err, "Cannot take over the egress connection", "target", r.Host)
			return
		}
		defer client.Close()
		if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			return
		}
		splice(client, buffered, upstream)
	})
}

// splice copies both ways until either side is done.
func splice(client net.Conn, fromClient io.Reader, upstream net.Conn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(upstream, fromClient)
		if c, ok := upstream.(interface{ CloseWrite() error }); ok {
			_ = c.CloseWrite()
		}
	}()
	_, _ = io.Copy(client, upstream)
	_ = client.Close()
	wg.Wait()
}

// kubeletClientUser is the API server's client certificate for kubelets
// (kubectl logs, exec, port-forward); RBAC binds it to
// system:kubelet-api-admin, which the kubelets' webhook authorization asks
// about.
const kubeletClientUser = "system:kube-apiserver-kubelet-client"

// egressSelectorConfig sends the API server's connections to the cluster
// (kubelets, above all) through the node-egress proxy: the API server
// listens on the host's loopback, and the kubelets in their namespaces.
func egressSelectorConfig(socket string) string {
	return fmt.Sprintf(`apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %q
`, socket)
}
