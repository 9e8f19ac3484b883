package localcluster

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// fixedRoutes routes one host and path prefix to one endpoint.
type fixedRoutes struct {
	host, path string
	to         netip.AddrPort
}

func (f fixedRoutes) Lookup(host, path string) (netip.AddrPort, error) {
	switch {
	case host != f.host:
		return netip.AddrPort{}, errNoRoute
	case len(path) < len(f.path) || path[:len(f.path)] != f.path:
		return netip.AddrPort{}, errNoPath
	}
	return f.to, nil
}

func TestRouterProxiesToTheRoutedEndpoint(t *testing.T) {
	var gotHost, gotXFF string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost, gotXFF = r.Host, r.Header.Get("X-Forwarded-For")
		_, _ = io.WriteString(w, "tok.thumbprint")
	}))
	defer backend.Close()
	to := netip.MustParseAddrPort(backend.Listener.Addr().String())
	var dialer net.Dialer
	router := NewRouter(fixedRoutes{host: "api.cluster.example.test", path: "/.well-known/acme-challenge/", to: to}, dialer.DialContext)

	get := func(host, path string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "http://x"+path, nil)
		req.Host = host
		req.RemoteAddr = "192.0.2.11:40000"
		req.Header.Set("X-Forwarded-For", "192.0.2.100")
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		return rec.Code, string(body)
	}
	for _, tc := range []struct {
		name, host, path string
		wantStatus       int
		wantBody         string
	}{
		{"the challenge", "api.cluster.example.test", "/.well-known/acme-challenge/tok", http.StatusOK, "tok.thumbprint"},
		{"the challenge, Host with port and in upper case", "API.cluster.example.test:80", "/.well-known/acme-challenge/tok", http.StatusOK, "tok.thumbprint"},
		// The router routes by Host: a proxy that loses it gets no answer.
		{"another Host", "192.0.2.10", "/.well-known/acme-challenge/tok", http.StatusServiceUnavailable, ""},
		{"another path", "api.cluster.example.test", "/other", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(tc.host, tc.path)
			if code != tc.wantStatus || (tc.wantBody != "" && body != tc.wantBody) {
				t.Errorf("got %d %q, want %d %q", code, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
	if gotHost != "API.cluster.example.test:80" || gotXFF != "192.0.2.100, 192.0.2.11" {
		t.Errorf("the backend got Host %q and X-Forwarded-For %q; want the client's Host, and its chain plus the client", gotHost, gotXFF)
	}

	rec := httptest.NewRecorder()
	router.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://admin/requests", nil))
	var seen []RouterRequest
	if err := json.Unmarshal(rec.Body.Bytes(), &seen); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 4 || seen[0].Status != http.StatusOK || seen[2].Status != http.StatusServiceUnavailable || seen[3].Status != http.StatusNotFound || seen[0].ForwardedFor != "192.0.2.100" {
		t.Errorf("the request log says %+v", seen)
	}
}

func TestRouterAnswers503WhenTheEndpointIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	to := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	var dialer net.Dialer
	router := NewRouter(fixedRoutes{host: "h", path: "/", to: to}, dialer.DialContext)
	req := httptest.NewRequest(http.MethodGet, "http://h/x", nil)
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("got %d, want 503", rec.Code)
	}
}

func TestMatchIngress(t *testing.T) {
	exact, prefix := networkingv1.PathTypeExact, networkingv1.PathTypePrefix
	now := time.Unix(1000, 0)
	ingress := func(namespace, name, class string, age time.Duration, host, path string, pathType *networkingv1.PathType) *networkingv1.Ingress {
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Spec: networkingv1.IngressSpec{
				IngressClassName: ptr.To(class),
				Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: pathType, Backend: networkingv1.IngressBackend{
						Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 8089}},
					}}},
				}}}},
			},
		}
	}
	// What cert-manager creates for a challenge, beside a catch-all.
	all := []*networkingv1.Ingress{
		ingress("apps", "site", IngressClass, time.Hour, "api.cluster.example.test", "/", &prefix),
		ingress("openshift-config", "cm-acme-http-solver-x", IngressClass, time.Minute, "api.cluster.example.test", "/.well-known/acme-challenge/tok", nil),
		ingress("other", "other-class", "nginx", 2*time.Hour, "api.cluster.example.test", "/.well-known/acme-challenge/tok", nil),
		ingress("a", "exact", IngressClass, time.Hour, "exact.example.test", "/only", &exact),
		ingress("a", "old", IngressClass, 2*time.Hour, "tie.example.test", "/", nil),
		ingress("b", "new", IngressClass, time.Hour, "tie.example.test", "/", nil),
	}
	for _, tc := range []struct {
		host, path    string
		wantNamespace string
		wantService   string
		wantErr       error
	}{
		{"api.cluster.example.test", "/.well-known/acme-challenge/tok", "openshift-config", "cm-acme-http-solver-x", nil},
		{"API.cluster.example.test", "/.well-known/acme-challenge/tok", "openshift-config", "cm-acme-http-solver-x", nil},
		{"api.cluster.example.test", "/.well-known/acme-challenge/other", "apps", "site", nil},
		{"exact.example.test", "/only", "a", "exact", nil},
		{"exact.example.test", "/only/more", "", "", errNoPath},
		{"tie.example.test", "/x", "a", "old", nil},
		{"unknown.example.test", "/", "", "", errNoRoute},
	} {
		namespace, backend, err := MatchIngress(all, tc.host, tc.path)
		if err != tc.wantErr || namespace != tc.wantNamespace || (err == nil && backend.Name != tc.wantService) {
			t.Errorf("MatchIngress(%s%s) = %s/%s, %v; want %s/%s, %v", tc.host, tc.path, namespace, backend.Name, err, tc.wantNamespace, tc.wantService, tc.wantErr)
		}
	}
}

func TestReadyEndpoint(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "solver"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8089, TargetPort: intstr.FromInt32(8089)}}},
	}
	slice := func(ready bool, addrs ...string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			Ports:     []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8089)}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}},
		}
	}
	got, err := ReadyEndpoint(svc, networkingv1.ServiceBackendPort{Number: 8089}, []*discoveryv1.EndpointSlice{slice(false, "192.0.2.65"), slice(true, "192.0.2.66")})
	if err != nil || got != netip.MustParseAddrPort("192.0.2.66:8089") {
		t.Errorf("ReadyEndpoint = %v, %v; want the ready 192.0.2.66:8089", got, err)
	}
	if _, err := ReadyEndpoint(svc, networkingv1.ServiceBackendPort{Number: 8089}, []*discoveryv1.EndpointSlice{slice(false, "192.0.2.65")}); err == nil {
		t.Error("no ready endpoint, no error")
	}
	if _, err := ReadyEndpoint(svc, networkingv1.ServiceBackendPort{Name: "https"}, nil); err == nil {
		t.Error("a port the Service does not have, no error")
	}
}
