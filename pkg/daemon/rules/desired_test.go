package rules

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// The expected expressions are spelled out byte by byte, as `nft --debug
// netlink` prints them for the equivalent nft rule, rather than built with the
// helpers under test.
var (
	oifnameLo = []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{'l', 'o', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	tcpDport80 = []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x00, 0x50}},
	}
)

func ip4Daddr(a, b, c, d byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{2}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{a, b, c, d}},
	}
}

func ip6Daddr(addr [16]byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{10}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]},
	}
}

func redirectToPort(hi, lo byte) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: []byte{hi, lo}},
		&expr.Redir{RegisterProtoMin: 1, RegisterProtoMax: 1, Flags: 2},
	}
}

func concat(parts ...[]expr.Any) []expr.Any {
	var all []expr.Any
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func comment(s string) []byte {
	return append([]byte{0, byte(len(s) + 1)}, append([]byte(s), 0)...)
}

func chainWith(name string, hook nftables.ChainHook, rules ...Rule) Chain {
	return Chain{Name: name, Type: "nat", Hook: hook, Priority: -100, Policy: nftables.ChainPolicyAccept, Rules: rules}
}

// guardFor is the input chain for a listen port and the API VIPs: per VIP
// `meta nfproto <family> tcp dport <port> ct state new ct original daddr
// <vip> ct original proto-dst 80 accept`, then `tcp dport <port> ct state
// new reject with tcp reset`.
func guardFor(hi, lo byte, port string, vips ...string) Chain {
	newToPort := func() []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{6}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{hi, lo}},
			&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(8), Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
		}
	}
	chain := Chain{Name: "input", Type: "filter", Hook: unix.NF_INET_LOCAL_IN, Priority: 0, Policy: nftables.ChainPolicyAccept}
	for _, vip := range vips {
		address := netip.MustParseAddr(vip).AsSlice()
		nfproto := byte(2)
		if len(address) == 16 {
			nfproto = 10
		}
		chain.Rules = append(chain.Rules, Rule{
			Exprs: concat(
				[]expr.Any{
					&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto}},
				},
				newToPort(),
				[]expr.Any{
					&expr.Ct{Key: expr.CtKeyDST, Register: 1, Direction: 0},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: address},
					&expr.Ct{Key: expr.CtKeyPROTODST, Register: 1, Direction: 0},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x00, 0x50}},
					&expr.Verdict{Kind: expr.VerdictAccept},
				}),
			UserData: comment("http01-challenge-proxy: accept tcp/" + port + " redirected from " + vip + " tcp/80"),
		})
	}
	chain.Rules = append(chain.Rules, Rule{
		Exprs:    append(newToPort(), &expr.Reject{Type: 1}),
		UserData: comment("http01-challenge-proxy: refuse tcp/" + port + " unless redirected from an API VIP tcp/80"),
	})
	return chain
}

func TestDesired(t *testing.T) {
	v6VIP := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 0x10}
	v6VIP2 := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 0x11}

	tests := []struct {
		name   string
		vips   []string
		port   uint16
		expect Table
	}{
		{
			name: "one IPv4 VIP",
			vips: []string{"192.0.2.10"},
			port: 8888,
			expect: Table{Present: true, Flags: 2, Chains: []Chain{
				chainWith("prerouting", unix.NF_INET_PRE_ROUTING, Rule{
					Exprs:    concat(ip4Daddr(192, 0, 2, 10), tcpDport80, redirectToPort(0x22, 0xb8)),
					UserData: comment("http01-challenge-proxy: redirect 192.0.2.10 tcp/80 to :8888"),
				}),
				chainWith("output", unix.NF_INET_LOCAL_OUT, Rule{
					Exprs:    concat(oifnameLo, ip4Daddr(192, 0, 2, 10), tcpDport80, redirectToPort(0x22, 0xb8)),
					UserData: comment("http01-challenge-proxy: redirect 192.0.2.10 tcp/80 to :8888"),
				}),
				guardFor(0x22, 0xb8, "8888", "192.0.2.10"),
			}},
		},
		{
			name: "one IPv6 VIP on another port",
			vips: []string{"2001:db8::10"},
			port: 9000,
			expect: Table{Present: true, Flags: 2, Chains: []Chain{
				chainWith("prerouting", unix.NF_INET_PRE_ROUTING, Rule{
					Exprs:    concat(ip6Daddr(v6VIP), tcpDport80, redirectToPort(0x23, 0x28)),
					UserData: comment("http01-challenge-proxy: redirect 2001:db8::10 tcp/80 to :9000"),
				}),
				chainWith("output", unix.NF_INET_LOCAL_OUT, Rule{
					Exprs:    concat(oifnameLo, ip6Daddr(v6VIP), tcpDport80, redirectToPort(0x23, 0x28)),
					UserData: comment("http01-challenge-proxy: redirect 2001:db8::10 tcp/80 to :9000"),
				}),
				guardFor(0x23, 0x28, "9000", "2001:db8::10"),
			}},
		},
		{
			name: "dual stack with several VIPs keeps their order",
			vips: []string{"192.0.2.10", "2001:db8::10", "192.0.2.11", "2001:db8::11"},
			port: 8888,
			expect: Table{Present: true, Flags: 2, Chains: []Chain{
				chainWith("prerouting", unix.NF_INET_PRE_ROUTING,
					Rule{Exprs: concat(ip4Daddr(192, 0, 2, 10), tcpDport80, redirectToPort(0x22, 0xb8)), UserData: comment("http01-challenge-proxy: redirect 192.0.2.10 tcp/80 to :8888")},
					Rule{Exprs: concat(ip6Daddr(v6VIP), tcpDport80, redirectToPort(0x22, 0xb8)), UserData: comment("http01-challenge-proxy: redirect 2001:db8::10 tcp/80 to :8888")},
					Rule{Exprs: concat(ip4Daddr(192, 0, 2, 11), tcpDport80, redirectToPort(0x22, 0xb8)), UserData: comment("http01-challenge-proxy: redirect 192.0.2.11 tcp/80 to :8888")},
					Rule{Exprs: concat(ip6Daddr(v6VIP2), tcpDport80, redirectToPort(0x22, 0xb8)), UserData: comment("http01-challenge-proxy: redirect 2001:db8::11 tcp/80 to :8888")},
				),
				chainWith("output", unix.NF_INET_LOCAL_OUT,
					Rule{Exprs: concat(oifnameLo, ip4Daddr(192, 0, 2, 10), tcpDport80, redirectToPort(0x22, 0xb8)), UserData: comment("http01-challenge-proxy: redirect 192.0.2.10 tcp/80 to :8888")},
					Rule{Exprs: concat(oifnameLo, ip6Daddr(v6VIP), tcpDport80, redirectToPort(0x22, 0xb8)), UserData: comment("http01-challenge-proxy: redirect 2001:db8::10 tcp/80 to :8888")},
					Rule{Exprs: concat(oifnameLo, ip4Daddr(192, 0, 2, 11), tcpDport80, redirectToPort(0x22, 0xb8)), UserData: comment("http01-challenge-proxy: redirect 192.0.2.11 tcp/80 to :8888")},
					Rule{Exprs: concat(oifnameLo, ip6Daddr(v6VIP2), tcpDport80, redirectToPort(0x22, 0xb8)), UserData: comment("http01-challenge-proxy: redirect 2001:db8::11 tcp/80 to :8888")},
				),
				guardFor(0x22, 0xb8, "8888", "192.0.2.10", "2001:db8::10", "192.0.2.11", "2001:db8::11"),
			}},
		},
		{
			name: "no VIP: nothing redirected, every new connection to the port refused",
			port: 8888,
			expect: Table{Present: true, Flags: 2, Chains: []Chain{
				chainWith("prerouting", unix.NF_INET_PRE_ROUTING),
				chainWith("output", unix.NF_INET_LOCAL_OUT),
				guardFor(0x22, 0xb8, "8888"),
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var vips []netip.Addr
			for _, v := range tc.vips {
				vips = append(vips, netip.MustParseAddr(v))
			}
			got := Desired(vips, tc.port)
			if diff := cmp.Diff(tc.expect, got); diff != "" {
				t.Errorf("Desired(%v, %d) mismatch (-want +got):\n%s", tc.vips, tc.port, diff)
			}
			if diffs := Diff(tc.expect, got); len(diffs) != 0 {
				t.Errorf("Diff of equal tables reported %v", diffs)
			}
		})
	}
}

func TestRuleCommentIsReadableByNft(t *testing.T) {
	rule := Desired([]netip.Addr{netip.MustParseAddr("192.0.2.10")}, 8888).Chains[0].Rules[0]
	got, ok := userdata.GetString(rule.UserData, userdata.TypeComment)
	if !ok || got != "http01-challenge-proxy: redirect 192.0.2.10 tcp/80 to :8888" {
		t.Errorf("comment = %q, %v", got, ok)
	}
}

func TestDraining(t *testing.T) {
	// `ct state established`, as `nft --debug netlink` prints it.
	ctStateEstablished := []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(2), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
	}
	rule := Rule{Exprs: ctStateEstablished, UserData: comment("http01-challenge-proxy: draining: keeps conntrack on for redirected connections")}
	expect := Table{Present: true, Flags: 2, Chains: []Chain{
		chainWith("prerouting", unix.NF_INET_PRE_ROUTING, rule),
		chainWith("output", unix.NF_INET_LOCAL_OUT, rule),
		guardFor(0x22, 0xb8, "8888", "192.0.2.10", "2001:db8::10"),
	}}
	vips := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}
	draining := Draining(vips, 8888)
	if diff := cmp.Diff(expect, draining); diff != "" {
		t.Errorf("Draining() mismatch (-want +got):\n%s", diff)
	}
	// The guard does not change while connections drain.
	if diff := cmp.Diff(Desired(vips, 8888).Chains[2], draining.Chains[2]); diff != "" {
		t.Errorf("Draining() guard differs from Desired()'s (-desired +draining):\n%s", diff)
	}
}
