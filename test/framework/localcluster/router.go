package localcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	operatorclient "github.com/openshift/client-go/operator/clientset/versioned"
	routeclient "github.com/openshift/client-go/route/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

const (
	// routerAdminAddress is the router's admin API, on the router
	// namespace's loopback: only the cluster's own tools reach it.
	routerAdminAddress = "127.0.0.1:1936"
	// routerRequestLog bounds how many requests the router remembers.
	routerRequestLog = 1000
)

// RouterRequest is one request the router received.
type RouterRequest struct {
	Time         time.Time      `json:"time"`
	Remote       netip.AddrPort `json:"remote"`
	Local        netip.AddrPort `json:"local"`
	Method       string         `json:"method"`
	Host         string         `json:"host"`
	Path         string         `json:"path"`
	ForwardedFor string         `json:"forwardedFor"`
	UserAgent    string         `json:"userAgent"`
	Status       int            `json:"status"`
}

// Router stands in for the OpenShift router: it listens on port 80 of the
// ingress VIPs and routes by Host and longest path prefix to a ready
// endpoint of the Service behind an admitted Route (see WatchRoutes, which
// also turns Ingresses of class openshift-default into Routes). A request
// no admitted Route matches gets 503, as does a Route without a ready
// endpoint. Its admin API returns every request it received.
type Router struct {
	routes RouteTable
	// dial connects to a backend from the router's namespace.
	dial func(ctx context.Context, network, address string) (net.Conn, error)

	mu       sync.Mutex
	requests []RouterRequest
}

// NewRouter returns a router over routes that dials backends with dial.
func NewRouter(routes RouteTable, dial func(ctx context.Context, network, address string) (net.Conn, error)) *Router {
	return &Router{routes: routes, dial: dial}
}

func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	record := RouterRequest{
		Time: time.Now(), Method: req.Method, Host: req.Host, Path: req.URL.Path,
		ForwardedFor: req.Header.Get("X-Forwarded-For"), UserAgent: req.UserAgent(),
	}
	record.Remote, _ = netip.ParseAddrPort(req.RemoteAddr)
	if local, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		record.Local, _ = netip.ParseAddrPort(local.String())
	}
	rec := &statusRecorder{ResponseWriter: w}
	r.route(rec, req)
	record.Status = rec.status
	r.mu.Lock()
	r.requests = append(r.requests, record)
	if len(r.requests) > routerRequestLog {
		r.requests = r.requests[len(r.requests)-routerRequestLog:]
	}
	r.mu.Unlock()
}

func (r *Router) route(w http.ResponseWriter, req *http.Request) {
	backend, err := r.routes.Lookup(routeHost(req.Host), req.URL.Path)
	switch {
	case errors.Is(err, errNoRoute):
		http.Error(w, "Application is not available: no route for host "+req.Host, http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, "Application is not available: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: backend.String()})
			pr.Out.Host = pr.In.Host
			// As the router's haproxy does: the client's chain plus
			// the client.
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			pr.SetXForwarded()
		},
		Transport: &http.Transport{Proxy: nil, DialContext: r.dial, DisableKeepAlives: true, ResponseHeaderTimeout: 10 * time.Second},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "Application is not available: "+err.Error(), http.StatusServiceUnavailable)
		},
	}
	proxy.ServeHTTP(w, req)
}

// statusRecorder remembers the status a handler sent.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// routeHost is the host a request is routed by: its Host without port, in
// lower case.
func routeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}

// AdminHandler serves the admin API: GET /requests.
func (r *Router) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		data, err := json.Marshal(r.requests)
		r.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
	})
	return mux
}

// RunRouter serves the router on port 80 of each VIP and its admin API,
// both inside the router's namespace, until ctx is done. It runs in the
// host's namespace, where it reads and writes the cluster's Routes and reads
// its Ingresses, Services, EndpointSlices and default IngressController, and
// dials the backends from the router's namespace.
func RunRouter(ctx context.Context, kube kubernetes.Interface, routeClient routeclient.Interface, operators operatorclient.Interface, routerNetns string, vips []netip.Addr) error {
	ns := &netns.Namespace{Name: routerNetns}
	routes, err := WatchRoutes(ctx, kube, routeClient, operators)
	if err != nil {
		return err
	}
	router := NewRouter(routes, ns.DialContext)
	var servers []*http.Server
	serve := func(address string, handler http.Handler) error {
		ln, err := ns.Listen("tcp", address)
		if err != nil {
			return err
		}
		server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, server)
		go func() {
			if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				klog.ErrorS(err, "Router server stopped", "address", address)
			}
		}()
		return nil
	}
	for _, vip := range vips {
		if err := serve(netip.AddrPortFrom(vip, 80).String(), router); err != nil {
			return err
		}
	}
	if err := serve(routerAdminAddress, router.AdminHandler()); err != nil {
		return err
	}
	klog.InfoS("Routing", "vips", vips, "admin", routerAdminAddress, "netns", routerNetns)
	<-ctx.Done()
	for _, s := range servers {
		_ = s.Close()
	}
	return nil
}

// routerAdmin is a client of a running router's admin API.
type routerAdmin struct {
	client *http.Client
}

func newRouterAdmin(s *State) *routerAdmin {
	return &routerAdmin{client: (&netns.Namespace{Name: s.Topology.Router.Netns}).HTTPClient(10 * time.Second)}
}

func (a *routerAdmin) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+routerAdminAddress+path, reader)
	if err != nil {
		return nil, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the router's admin API: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the router's admin API: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	return data, nil
}

// requests returns every request the router remembers.
func (a *routerAdmin) requests(ctx context.Context) ([]RouterRequest, error) {
	data, err := a.do(ctx, http.MethodGet, "/requests", nil)
	if err != nil {
		return nil, err
	}
	var all []RouterRequest
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	return all, nil
}
