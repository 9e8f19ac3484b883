// Package rules owns the daemon's nftables table: what it should contain
// (a pure function of the configuration), how it is written to and read back
// from the kernel over netlink, and the loop that keeps the two equal.
package rules

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

const (
	// TableName is the one nftables table this daemon owns. It lives in the
	// inet family so that a single table serves IPv4 and IPv6.
	TableName = "http01_challenge_proxy"

	// TableFamily is the family of TableName.
	TableFamily = nftables.TableFamilyINet

	// PreroutingChain redirects traffic that arrives from other hosts.
	PreroutingChain = "prerouting"
	// OutputChain redirects traffic that the node sends to the VIP it holds
	// itself, e.g. cert-manager's self-check from a hostNetwork pod.
	OutputChain = "output"
	// InputChain refuses connections to the proxy's port that our redirect
	// did not send there. The proxy must listen on the wildcard address (see
	// proxy.Listen), so without this chain node-IP:<listen port> would be a
	// second way in.
	InputChain = "input"

	// RuleCommentPrefix starts the comment stored in the userdata of every
	// rule we write, so that a human reading `nft list ruleset` (and this
	// daemon, when comparing) can tell our rules apart.
	RuleCommentPrefix = "http01-challenge-proxy:"

	// challengePort is where ACME HTTP-01 validation always connects
	// (RFC 8555 section 8.3): it is not configurable by design.
	challengePort = 80

	// loopbackInterface is the interface that locally generated packets to a
	// local address leave through; matching it in the output chain keeps us
	// from redirecting the node's traffic to a VIP that another node holds.
	loopbackInterface = "lo"

	// register is the nftables data register every rule loads into and
	// compares from. NFT_REG_1 is the 16-byte register that can hold an IPv6
	// address.
	register = unix.NFT_REG_1

	// ctDirectionOriginal is IP_CT_DIR_ORIGINAL: the tuple of a connection's
	// first packet, before any NAT. google/nftables v0.3.0 sends a direction
	// in four big-endian bytes and the kernel reads only the first, so 0 is
	// the only direction it can send.
	ctDirectionOriginal = 0

	// TableFlagOwner is NFT_TABLE_F_OWNER (Linux 5.12, RHEL 9): the table
	// belongs to the netlink socket that created it. Only that socket can
	// change or delete it, and the kernel deletes it when the socket closes,
	// however the daemon died. golang.org/x/sys does not name it yet.
	TableFlagOwner uint32 = 0x2
)

// Table is the content of our nftables table: the desired state built by
// Desired, or the state read back from the kernel.
type Table struct {
	// Present is false when the kernel has no such table.
	Present bool
	// Flags are the table flags: TableFlagOwner and nothing else (dormant
	// would disable our rules).
	Flags  uint32
	Chains []Chain
}

// Chain is one base chain of our table with its rules in kernel order.
type Chain struct {
	Name     string
	Type     nftables.ChainType
	Hook     nftables.ChainHook
	Priority nftables.ChainPriority
	Policy   nftables.ChainPolicy
	Rules    []Rule
}

// Rule is one nftables rule: its expressions and the userdata (comment) that
// tags it as ours.
type Rule struct {
	Exprs    []expr.Any
	UserData []byte
}

// Desired returns the table that redirects TCP to each API VIP on port 80 to
// listenPort on this node, both for traffic arriving from elsewhere
// (prerouting) and for traffic the node sends to itself (output, loopback
// only), and that refuses every other connection to listenPort (input).
//
// Expressions are written in the form the kernel reports them back in (see
// redirectTo), so that a read-back compares equal without guessing.
func Desired(apiVIPs []netip.Addr, listenPort uint16) Table {
	return Table{
		Present: true,
		Flags:   TableFlagOwner,
		Chains: []Chain{
			natChain(PreroutingChain, *nftables.ChainHookPrerouting, apiVIPs, listenPort, nil),
			natChain(OutputChain, *nftables.ChainHookOutput, apiVIPs, listenPort, matchOutputInterface(loopbackInterface)),
			guardChain(apiVIPs, listenPort),
		},
	}
}

// Draining returns the table to hold while connections already redirected
// drain on shutdown: the same NAT chains, redirecting nothing, each with one
// rule that only looks at the conntrack state and has no verdict, and the
// same guard of listenPort, which stays closed to all but our redirect's
// connections for as long as our table exists.
//
// Both halves matter for those connections. The kernel rewrites their reply
// packets back to API_VIP:80 only while a nat chain keeps its NAT hooks
// registered and something holds conntrack on in the namespace; the redirect
// rules were the holders of the latter, and on a node with no other nat or
// conntrack user, deleting them would cut every reply in flight.
func Draining(apiVIPs []netip.Addr, listenPort uint16) Table {
	return Table{
		Present: true,
		Flags:   TableFlagOwner,
		Chains: []Chain{
			drainingChain(PreroutingChain, *nftables.ChainHookPrerouting),
			drainingChain(OutputChain, *nftables.ChainHookOutput),
			guardChain(apiVIPs, listenPort),
		},
	}
}

func drainingChain(name string, hook nftables.ChainHook) Chain {
	chain := natChain(name, hook, nil, 0, nil)
	chain.Rules = []Rule{{
		Exprs:    matchEstablished(),
		UserData: ruleComment(RuleCommentPrefix + " draining: keeps conntrack on for redirected connections"),
	}}
	return chain
}

// matchEstablished is `ct state established`.
func matchEstablished() []expr.Any {
	return matchCtBits(expr.CtKeySTATE, expr.CtStateBitESTABLISHED)
}

// guardChain lets through the new connections to listenPort that our
// redirect sent there, those whose conntrack original destination is an API
// VIP on port 80, and refuses all others with a TCP reset: per VIP `meta
// nfproto <family> tcp dport <port> ct state new ct original daddr <vip> ct
// original proto-dst 80 accept`, then `tcp dport <port> ct state new reject
// with tcp reset`.
//
// Checking the original destination, not only that there was a DNAT, also
// refuses what another table's DNAT sends to listenPort from some other
// address or port. Accept ends only this chain; other input chains still run.
//
// Only new connections are matched: a reply to a connection the node opened
// from listenPort (an ephemeral port while the proxy is down) passes. A reset
// rather than a drop makes the port look closed and fails a client at once.
func guardChain(apiVIPs []netip.Addr, listenPort uint16) Chain {
	chain := Chain{
		Name:     InputChain,
		Type:     nftables.ChainTypeFilter,
		Hook:     *nftables.ChainHookInput,
		Priority: *nftables.ChainPriorityFilter,
		Policy:   nftables.ChainPolicyAccept,
	}
	for _, vip := range apiVIPs {
		exprs := matchFamily(vip)
		exprs = append(exprs, matchNewConnectionTo(listenPort)...)
		exprs = append(exprs, matchOriginalDestination(vip)...)
		exprs = append(exprs, matchOriginalPort(challengePort)...)
		exprs = append(exprs, &expr.Verdict{Kind: expr.VerdictAccept})
		chain.Rules = append(chain.Rules, Rule{
			Exprs:    exprs,
			UserData: ruleComment(fmt.Sprintf("%s accept tcp/%d redirected from %s tcp/%d", RuleCommentPrefix, listenPort, vip, challengePort)),
		})
	}
	chain.Rules = append(chain.Rules, Rule{
		Exprs:    append(matchNewConnectionTo(listenPort), &expr.Reject{Type: unix.NFT_REJECT_TCP_RST}),
		UserData: ruleComment(fmt.Sprintf("%s refuse tcp/%d unless redirected from an API VIP tcp/%d", RuleCommentPrefix, listenPort, challengePort)),
	})
	return chain
}

// matchNewConnectionTo is `tcp dport <port> ct state new`.
func matchNewConnectionTo(port uint16) []expr.Any {
	return append(matchTCPDestinationPort(port), matchCtBits(expr.CtKeySTATE, expr.CtStateBitNEW)...)
}

// matchOriginalDestination is `ct original ip daddr <vip>` or `ct original
// ip6 daddr <vip>`, after matchFamily. google/nftables v0.3.0 cannot send the
// direction of the family-specific keys that nft uses (NFT_CT_DST_IP, _IP6),
// so this loads NFT_CT_DST, 16 bytes in an inet table, of which an IPv4
// address fills the first 4: comparing those is enough once the family is
// known.
func matchOriginalDestination(vip netip.Addr) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeyDST, Register: register, Direction: ctDirectionOriginal},
		&expr.Cmp{Op: expr.CmpOpEq, Register: register, Data: vip.AsSlice()},
	}
}

// matchOriginalPort is `ct original proto-dst <port>`.
func matchOriginalPort(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeyPROTODST, Register: register, Direction: ctDirectionOriginal},
		&expr.Cmp{Op: expr.CmpOpEq, Register: register, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// matchCtBits is `ct <key> <bits>`: it loads a conntrack bit field (host
// byte order, as the kernel keeps it) and matches if any of bits is set.
func matchCtBits(key expr.CtKey, bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: key, Register: register},
		&expr.Bitwise{
			SourceRegister: register,
			DestRegister:   register,
			Len:            4,
			Mask:           binaryutil.NativeEndian.PutUint32(bits),
			Xor:            binaryutil.NativeEndian.PutUint32(0),
		},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: register, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func natChain(name string, hook nftables.ChainHook, apiVIPs []netip.Addr, listenPort uint16, prefix []expr.Any) Chain {
	chain := Chain{
		Name:     name,
		Type:     nftables.ChainTypeNAT,
		Hook:     hook,
		Priority: *nftables.ChainPriorityNATDest,
		Policy:   nftables.ChainPolicyAccept,
	}
	for _, vip := range apiVIPs {
		exprs := append([]expr.Any{}, prefix...)
		exprs = append(exprs, matchDestination(vip)...)
		exprs = append(exprs, matchTCPDestinationPort(challengePort)...)
		exprs = append(exprs, redirectTo(listenPort)...)
		chain.Rules = append(chain.Rules, Rule{
			Exprs:    exprs,
			UserData: ruleComment(fmt.Sprintf("%s redirect %s tcp/%d to :%d", RuleCommentPrefix, vip, challengePort, listenPort)),
		})
	}
	return chain
}

func ruleComment(comment string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, comment)
}

// matchOutputInterface is `oifname "<name>"`. The kernel compares the whole
// IFNAMSIZ buffer, so the name is NUL padded to 16 bytes exactly as nft does.
func matchOutputInterface(name string) []expr.Any {
	ifname := make([]byte, unix.IFNAMSIZ)
	copy(ifname, name)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: register},
		&expr.Cmp{Op: expr.CmpOpEq, Register: register, Data: ifname},
	}
}

// matchDestination is `ip daddr <vip>` or `ip6 daddr <vip>`, after
// matchFamily.
func matchDestination(vip netip.Addr) []expr.Any {
	offset := uint32(16) // iphdr.daddr
	if vip.Is6() {
		offset = 24 // ipv6hdr.daddr
	}
	address := vip.AsSlice()
	return append(matchFamily(vip),
		&expr.Payload{DestRegister: register, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: uint32(len(address))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: register, Data: address},
	)
}

// matchFamily is `meta nfproto ipv4` or `meta nfproto ipv6`, for vip's
// family. In an inet table it must come before any match on an address, or
// an IPv6 packet's bytes at the IPv4 offset, or the first 4 bytes of an IPv6
// conntrack address, could match an IPv4 one.
func matchFamily(vip netip.Addr) []expr.Any {
	nfproto := byte(unix.NFPROTO_IPV4)
	if vip.Is6() {
		nfproto = unix.NFPROTO_IPV6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: register},
		&expr.Cmp{Op: expr.CmpOpEq, Register: register, Data: []byte{nfproto}},
	}
}

// matchTCPDestinationPort is `tcp dport <port>`.
func matchTCPDestinationPort(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: register},
		&expr.Cmp{Op: expr.CmpOpEq, Register: register, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: register, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}, // tcphdr.dest
		&expr.Cmp{Op: expr.CmpOpEq, Register: register, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// redirectTo is `redirect to :<port>`. The kernel fills in the maximum port
// register and the PROTO_SPECIFIED flag when it is given only the minimum, and
// reports them back; we send them explicitly so the read-back is identical.
// Flags replaces the kernel's flags rather than adding to them, so it must be
// exactly NF_NAT_RANGE_PROTO_SPECIFIED here.
func redirectTo(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: register, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.Redir{RegisterProtoMin: register, RegisterProtoMax: register, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
	}
}
