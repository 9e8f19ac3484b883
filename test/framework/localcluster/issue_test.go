package localcluster

import (
	"net/netip"
	"slices"
	"testing"
)

func TestGroupRequests(t *testing.T) {
	a := RouterRequest{Method: "GET", Path: "/p", Host: "h", Remote: netip.MustParseAddrPort("192.0.2.11:40000"), Status: 200}
	b := a
	b.Remote = netip.MustParseAddrPort("192.0.2.11:40001") // another connection, same node
	c := a
	c.Remote = netip.MustParseAddrPort("192.0.2.12:40000")
	groups := groupRequests([]RouterRequest{a, b, c})
	if len(groups) != 2 || groups[0].count != 2 || groups[1].count != 1 {
		t.Errorf("got %+v, want the two requests from 192.0.2.11 merged", groups)
	}
}

func TestVIPRedirects(t *testing.T) {
	r := &IssueResult{
		APIVIP: netip.MustParseAddr("192.0.2.10"),
		RedirectRules: []string{
			`ip daddr 192.0.2.10 tcp dport 80 redirect to :8888 comment "x"`,
			`ip6 daddr 2001:db8::10 tcp dport 80 redirect to :8888 comment "x"`,
			`oifname "lo" ip daddr 192.0.2.10 tcp dport 80 redirect to :8888 comment "x"`,
			`ip daddr 192.0.2.100 tcp dport 80 redirect to :8888`,
		},
	}
	want := []string{"ip daddr 192.0.2.10 tcp dport 80 redirect to :8888"}
	if got := r.VIPRedirects(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
