package rules

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// readRules lists the rules of one chain of our table. It decodes the
// kernel's dump itself because google/nftables v0.3.0 cannot read the
// guard's ct expressions back: the kernel reports their direction in one
// byte and the library insists on four (fixed upstream after v0.3.0).
func readRules(sock *netlink.Conn, chain string) ([]Rule, error) {
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.NFTA_RULE_TABLE, TableName)
	ae.String(unix.NFTA_RULE_CHAIN, chain)
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	replies, err := sock.Execute(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETRULE),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append(nfgenmsg(byte(TableFamily), 0), attrs...),
	})
	if err != nil {
		return nil, err
	}
	var rules []Rule
	for _, m := range replies {
		if m.Header.Type != netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWRULE) || len(m.Data) < 4 {
			return nil, fmt.Errorf("unexpected netlink message of type %#x in a rule dump", m.Header.Type)
		}
		rule, err := decodeRule(m.Data[4:]) // after the nfgenmsg
		if err != nil {
			return nil, err
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

// decodeRule decodes the attributes of one rule. A rule with an expression
// that none of our tables uses reads back with no expressions at all, which
// differs from every rule we write.
func decodeRule(b []byte) (Rule, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return Rule{}, err
	}
	ad.ByteOrder = binary.BigEndian
	var rule Rule
	foreign := false
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_RULE_USERDATA:
			rule.UserData = ad.Bytes()
		case unix.NFTA_RULE_EXPRESSIONS:
			ad.Nested(func(list *netlink.AttributeDecoder) error {
				for list.Next() {
					e, err := decodeExpr(list.Bytes())
					if err != nil {
						return err
					}
					if e == nil {
						foreign = true
					}
					rule.Exprs = append(rule.Exprs, e)
				}
				return list.Err()
			})
		}
	}
	if err := ad.Err(); err != nil {
		return Rule{}, fmt.Errorf("decoding a rule: %w", err)
	}
	if foreign {
		rule.Exprs = nil
	}
	return rule, nil
}

// decodeExpr decodes one expression, or returns nil for a kind our tables
// never contain.
func decodeExpr(b []byte) (expr.Any, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return nil, err
	}
	var name string
	var data []byte
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_EXPR_NAME:
			name = ad.String()
		case unix.NFTA_EXPR_DATA:
			data = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	var e expr.Any
	switch name {
	case "ct":
		return decodeCt(data)
	case "meta":
		e = &expr.Meta{}
	case "cmp":
		e = &expr.Cmp{}
	case "payload":
		e = &expr.Payload{}
	case "bitwise":
		e = &expr.Bitwise{}
	case "immediate":
		e = &expr.Immediate{}
	case "redir":
		e = &expr.Redir{}
	case "reject":
		e = &expr.Reject{}
	default:
		return nil, nil
	}
	if err := expr.Unmarshal(byte(TableFamily), data, e); err != nil {
		return nil, fmt.Errorf("decoding a %s expression: %w", name, err)
	}
	// A verdict is an immediate that loads no data into the verdict register.
	if imm, ok := e.(*expr.Immediate); ok && imm.Register == unix.NFT_REG_VERDICT && len(imm.Data) == 0 {
		e = &expr.Verdict{}
		if err := expr.Unmarshal(byte(TableFamily), data, e); err != nil {
			return nil, fmt.Errorf("decoding a verdict: %w", err)
		}
	}
	return e, nil
}

// decodeCt decodes a ct expression, its direction a single byte.
func decodeCt(data []byte) (expr.Any, error) {
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return nil, err
	}
	ad.ByteOrder = binary.BigEndian
	ct := &expr.Ct{}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_CT_KEY:
			ct.Key = expr.CtKey(ad.Uint32())
		case unix.NFTA_CT_DREG:
			ct.Register = ad.Uint32()
		case unix.NFTA_CT_SREG:
			ct.SourceRegister, ct.Register = true, ad.Uint32()
		case unix.NFTA_CT_DIRECTION:
			ct.Direction = uint32(ad.Uint8())
		}
	}
	if err := ad.Err(); err != nil {
		return nil, fmt.Errorf("decoding a ct expression: %w", err)
	}
	return ct, nil
}
