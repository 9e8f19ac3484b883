package localcluster

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestParseLdd(t *testing.T) {
	out := []byte(`	linux-vdso.so.1 (0x00007ffd4b7f4000)
	libresolv.so.2 => /lib/x86_64-linux-gnu/libresolv.so.2 (0x00007f1d0c4e0000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1d0c2ff000)
	/lib64/ld-linux-x86-64.so.2 (0x00007f1d0c4f8000)
`)
	libs, err := parseLdd(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/lib/x86_64-linux-gnu/libresolv.so.2": "/lib/x86_64-linux-gnu/libresolv.so.2",
		"/lib/x86_64-linux-gnu/libc.so.6":      "/lib/x86_64-linux-gnu/libc.so.6",
		"/lib64/ld-linux-x86-64.so.2":          "/lib64/ld-linux-x86-64.so.2",
	}
	if !maps.Equal(libs, want) {
		t.Errorf("parseLdd = %v, want %v", libs, want)
	}
}

func TestParseLddRefusesALibraryItCannotPlace(t *testing.T) {
	if _, err := parseLdd([]byte("\tlibfoo.so.1 => not found\n")); err == nil {
		t.Fatal("a missing library was accepted")
	}
}

// TestEgressRefusesWhatIsNotANode: the API server's tunnel reaches the
// kubelets and nothing else.
func TestEgressRefusesWhatIsNotANode(t *testing.T) {
	h := egressHandler(map[netip.Addr]string{netip.MustParseAddr("192.0.2.11"): "node-ns"})
	for _, tc := range []struct {
		method, host string
		want         int
	}{
		{http.MethodGet, "192.0.2.11:10250", http.StatusMethodNotAllowed},
		{http.MethodConnect, "192.0.2.99:10250", http.StatusForbidden},
		{http.MethodConnect, "example.test:10250", http.StatusForbidden},
		{http.MethodConnect, "192.0.2.11", http.StatusForbidden},
	} {
		r := httptest.NewRequest(tc.method, "http://"+tc.host+"/", nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.host, w.Code, tc.want)
		}
	}
}
