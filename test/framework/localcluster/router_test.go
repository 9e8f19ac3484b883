package localcluster

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
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
		return netip.AddrPort{}, errNoRoute
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
		{"another path", "api.cluster.example.test", "/other", http.StatusServiceUnavailable, ""},
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
	if len(seen) != 4 || seen[0].Status != http.StatusOK || seen[2].Status != http.StatusServiceUnavailable || seen[3].Status != http.StatusServiceUnavailable || seen[0].ForwardedFor != "192.0.2.100" {
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

func route(namespace, name string, age time.Duration, host, path string) *routev1.Route {
	return &routev1.Route{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, CreationTimestamp: metav1.NewTime(time.Unix(10000, 0).Add(-age))},
		Spec:       routev1.RouteSpec{Host: host, Path: path, To: routev1.RouteTargetReference{Kind: "Service", Name: name}},
	}
}

// The router's admission decides who may answer for a host: the platform's
// claim, the oldest route of the API host, keeps tenants out under Strict.
func TestAdmit(t *testing.T) {
	const api = "api.cluster.example.test"
	claim := route("openshift-config", "claim", 2*time.Hour, api, "/.well-known/claim")
	solver := route("openshift-config", "solver", time.Minute, api, "/.well-known/acme-challenge/tok")
	tenant := route("tenant", "stolen", time.Hour, api, "/.well-known/acme-challenge/other")
	tenantOlder := route("tenant", "first", 3*time.Hour, api, "/")
	sameHostAndPath := route("openshift-config", "dup", time.Second, api, "/.well-known/claim")
	for _, tc := range []struct {
		name      string
		routes    []*routev1.Route
		ownership operatorv1.NamespaceOwnershipCheck
		admitted  []string
		refused   map[string]string // route -> words its message must hold
	}{
		{"Strict: the claim's namespace owns the host", []*routev1.Route{claim, solver, tenant}, "",
			[]string{"openshift-config/claim", "openshift-config/solver"}, map[string]string{"tenant/stolen": "claimed by namespace openshift-config: route openshift-config/claim is older"}},
		{"Strict: a tenant that came first owns it", []*routev1.Route{claim, solver, tenantOlder}, operatorv1.StrictNamespaceOwnershipCheck,
			[]string{"tenant/first"}, map[string]string{"openshift-config/claim": "claimed by namespace tenant", "openshift-config/solver": "tenant/first"}},
		{"InterNamespaceAllowed: namespaces share the host", []*routev1.Route{claim, solver, tenant}, operatorv1.InterNamespaceAllowedOwnershipCheck,
			[]string{"openshift-config/claim", "openshift-config/solver", "tenant/stolen"}, nil},
		{"the same host and path: the oldest wins", []*routev1.Route{claim, sameHostAndPath}, "",
			[]string{"openshift-config/claim"}, map[string]string{"openshift-config/dup": "same host"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Admit(tc.routes, tc.ownership)
			for _, key := range tc.admitted {
				if !got[key].Admitted {
					t.Errorf("%s not admitted: %+v", key, got[key])
				}
			}
			for key, words := range tc.refused {
				if a := got[key]; a.Admitted || a.Reason != "HostAlreadyClaimed" || !strings.Contains(a.Message, words) {
					t.Errorf("%s: %+v; want HostAlreadyClaimed saying %q", key, a, words)
				}
			}
		})
	}
}

func TestMatchRoute(t *testing.T) {
	const api = "api.cluster.example.test"
	routes := []*routev1.Route{
		route("apps", "site", time.Hour, "www.example.test", ""),
		route("openshift-config", "claim", time.Hour, api, "/.well-known/claim"),
		route("openshift-config", "solver", time.Minute, api, "/.well-known/acme-challenge/tok"),
		route("tenant", "stolen", 30*time.Minute, api, "/.well-known/acme-challenge/"),
	}
	admitted := Admit(routes, "")
	for _, tc := range []struct{ host, path, want string }{
		{api, "/.well-known/acme-challenge/tok", "solver"},
		{"API.cluster.example.test", "/.well-known/acme-challenge/tok", "solver"},
		// The tenant's route would match, but it is not admitted.
		{api, "/.well-known/acme-challenge/other", ""},
		{"www.example.test", "/anything", "site"},
		{"unknown.example.test", "/", ""},
	} {
		got, err := MatchRoute(routes, admitted, tc.host, tc.path)
		switch {
		case tc.want == "" && err != errNoRoute:
			t.Errorf("MatchRoute(%s%s) = %v, %v; want no route", tc.host, tc.path, got, err)
		case tc.want != "" && (err != nil || got.Name != tc.want):
			t.Errorf("MatchRoute(%s%s) = %v, %v; want %s", tc.host, tc.path, got, err, tc.want)
		}
	}
}

func TestReadyEndpoint(t *testing.T) {
	r := route("ns", "solver", 0, "h", "/")
	r.Spec.Port = &routev1.RoutePort{TargetPort: intstr.FromString("http")}
	slice := func(ready bool, addrs ...string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			Ports:     []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8089)}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}},
		}
	}
	got, err := ReadyEndpoint(r, []*discoveryv1.EndpointSlice{slice(false, "192.0.2.65"), slice(true, "192.0.2.66")})
	if err != nil || got != netip.MustParseAddrPort("192.0.2.66:8089") {
		t.Errorf("ReadyEndpoint = %v, %v; want the ready 192.0.2.66:8089", got, err)
	}
	if _, err := ReadyEndpoint(r, []*discoveryv1.EndpointSlice{slice(false, "192.0.2.65")}); err == nil {
		t.Error("no ready endpoint, no error")
	}
	r.Spec.Port.TargetPort = intstr.FromInt32(9999)
	if _, err := ReadyEndpoint(r, []*discoveryv1.EndpointSlice{slice(true, "192.0.2.66")}); err == nil {
		t.Error("a port the endpoints do not have, no error")
	}
}

// The ingress-to-route controller names the Service port, as cert-manager's
// solver Service has one.
func TestRouteTargetPort(t *testing.T) {
	svc := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
		{Name: "http", Port: 8089, TargetPort: intstr.FromInt32(8089)},
		{Port: 8443, TargetPort: intstr.FromInt32(9443)},
	}}}
	for _, tc := range []struct {
		number int32
		name   string
		want   intstr.IntOrString
	}{
		{8089, "", intstr.FromString("http")},
		{0, "http", intstr.FromString("http")},
		{8443, "", intstr.FromInt32(9443)},
	} {
		if got, err := RouteTargetPort(svc, tc.number, tc.name); err != nil || got != tc.want {
			t.Errorf("RouteTargetPort(%d, %q) = %v, %v; want %v", tc.number, tc.name, got, err, tc.want)
		}
	}
	if _, err := RouteTargetPort(svc, 1, ""); err == nil {
		t.Error("a port the Service does not have, no error")
	}
}
