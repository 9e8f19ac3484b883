package localcluster

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRouter(t *testing.T) {
	router := NewRouter()
	admin := router.AdminHandler()
	adminCall := func(method, path, body string) int {
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, httptest.NewRequest(method, "http://admin"+path, strings.NewReader(body)))
		return rec.Code
	}
	if code := adminCall(http.MethodPut, "/challenges", `{"host":"API.cluster.example.test","path":"/.well-known/acme-challenge/tok","answer":"tok.thumbprint"}`); code != http.StatusOK {
		t.Fatalf("adding a challenge: %d", code)
	}
	if code := adminCall(http.MethodPut, "/challenges", `{"host":"x","path":"relative"}`); code != http.StatusBadRequest {
		t.Errorf("a challenge with a relative path: %d, want 400", code)
	}

	get := func(host, path string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "http://x"+path, nil)
		req.Host = host
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
		{"the challenge, Host with port", "api.cluster.example.test:80", "/.well-known/acme-challenge/tok", http.StatusOK, "tok.thumbprint"},
		// The router routes by Host: a proxy that loses it gets no answer.
		{"another Host", "192.0.2.10", "/.well-known/acme-challenge/tok", http.StatusServiceUnavailable, ""},
		{"an unknown token", "api.cluster.example.test", "/.well-known/acme-challenge/other", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(tc.host, tc.path)
			if code != tc.wantStatus || (tc.wantBody != "" && body != tc.wantBody) {
				t.Errorf("got %d %q, want %d %q", code, body, tc.wantStatus, tc.wantBody)
			}
		})
	}

	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://admin/requests", nil))
	var seen []RouterRequest
	if err := json.Unmarshal(rec.Body.Bytes(), &seen); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 4 || seen[0].Status != http.StatusOK || seen[2].Status != http.StatusServiceUnavailable || seen[0].ForwardedFor != "192.0.2.100" {
		t.Errorf("the request log says %+v", seen)
	}

	if code := adminCall(http.MethodDelete, "/challenges", `{"host":"api.cluster.example.test","path":"/.well-known/acme-challenge/tok"}`); code != http.StatusOK {
		t.Fatalf("removing the challenge: %d", code)
	}
	if code, _ := get("api.cluster.example.test", "/.well-known/acme-challenge/tok"); code != http.StatusServiceUnavailable {
		t.Errorf("after its last challenge is removed the host still has a route: %d", code)
	}
}
