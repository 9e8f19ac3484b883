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
	"net/netip"
	"strings"
	"sync"
	"time"

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

// RouterChallenge is a challenge answer the router serves, as the route to
// cert-manager's solver pod would.
type RouterChallenge struct {
	Host   string `json:"host"`
	Path   string `json:"path"`
	Answer string `json:"answer,omitempty"`
}

// Router stands in for the OpenShift router with cert-manager's HTTP-01
// solvers behind it. It listens on port 80 of the ingress VIPs and routes
// by Host, as the router does: a host with no route gets 503, a path with
// no solver 404, a challenge path its answer. Challenges come and go
// through its admin API, which also returns every request it received.
type Router struct {
	mu sync.Mutex
	// routes are the challenge answers, by host, then path.
	routes   map[string]map[string]string
	requests []RouterRequest
}

// NewRouter returns a router without routes.
func NewRouter() *Router {
	return &Router{routes: map[string]map[string]string{}}
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
	r.mu.Lock()
	paths, routed := r.routes[routeHost(req.Host)]
	answer, known := paths[req.URL.Path]
	switch {
	case !routed:
		record.Status = http.StatusServiceUnavailable
	case !known:
		record.Status = http.StatusNotFound
	default:
		record.Status = http.StatusOK
	}
	r.requests = append(r.requests, record)
	if len(r.requests) > routerRequestLog {
		r.requests = r.requests[len(r.requests)-routerRequestLog:]
	}
	r.mu.Unlock()

	switch record.Status {
	case http.StatusOK:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, answer)
	case http.StatusServiceUnavailable:
		http.Error(w, "Application is not available: no route for host "+req.Host, record.Status)
	default:
		http.NotFound(w, req)
	}
}

// routeHost is the host a request is routed by: its Host without port, in
// lower case.
func routeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}

// AdminHandler serves the admin API: PUT and DELETE /challenges with a
// RouterChallenge, GET /requests.
func (r *Router) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /challenges", func(w http.ResponseWriter, req *http.Request) {
		c, ok := decodeChallenge(w, req)
		if !ok {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		host := routeHost(c.Host)
		if r.routes[host] == nil {
			r.routes[host] = map[string]string{}
		}
		r.routes[host][c.Path] = c.Answer
	})
	mux.HandleFunc("DELETE /challenges", func(w http.ResponseWriter, req *http.Request) {
		c, ok := decodeChallenge(w, req)
		if !ok {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		host := routeHost(c.Host)
		delete(r.routes[host], c.Path)
		if len(r.routes[host]) == 0 {
			delete(r.routes, host)
		}
	})
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

func decodeChallenge(w http.ResponseWriter, req *http.Request) (RouterChallenge, bool) {
	var c RouterChallenge
	if err := json.NewDecoder(io.LimitReader(req.Body, 64*1024)).Decode(&c); err != nil || c.Host == "" || !strings.HasPrefix(c.Path, "/") {
		http.Error(w, "want a JSON challenge with a host and an absolute path", http.StatusBadRequest)
		return c, false
	}
	return c, true
}

// RunRouter serves the router on port 80 of each VIP and its admin API
// until ctx is done. It must run inside the router namespace.
func RunRouter(ctx context.Context, vips []netip.Addr) error {
	router := NewRouter()
	var servers []*http.Server
	serve := func(address string, handler http.Handler) error {
		ln, err := net.Listen("tcp", address)
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
	klog.InfoS("Routing", "vips", vips, "admin", routerAdminAddress)
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

// addChallenge makes the router answer a challenge.
func (a *routerAdmin) addChallenge(ctx context.Context, c RouterChallenge) error {
	_, err := a.do(ctx, http.MethodPut, "/challenges", c)
	return err
}

// removeChallenge stops the router answering a challenge.
func (a *routerAdmin) removeChallenge(ctx context.Context, c RouterChallenge) error {
	_, err := a.do(ctx, http.MethodDelete, "/challenges", c)
	return err
}

// requestsFor returns the requests the router received for path.
func (a *routerAdmin) requestsFor(ctx context.Context, path string) ([]RouterRequest, error) {
	data, err := a.do(ctx, http.MethodGet, "/requests", nil)
	if err != nil {
		return nil, err
	}
	var all []RouterRequest
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	var out []RouterRequest
	for _, r := range all {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out, nil
}
