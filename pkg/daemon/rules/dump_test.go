package rules

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// kernelRule encodes rule the way the kernel dumps it (nf_tables_fill_rule_info):
// table, chain, handle, expressions, userdata; a ct expression with its
// direction as one byte (nft_ct_get_dump).
func kernelRule(t *testing.T, rule Rule) []byte {
	t.Helper()
	list := netlink.NewAttributeEncoder()
	for _, e := range rule.Exprs {
		if ct, ok := e.(*expr.Ct); ok {
			list.Do(unix.NLA_F_NESTED|unix.NFTA_LIST_ELEM, func() ([]byte, error) { return kernelCt(ct) })
			continue
		}
		list.Do(unix.NLA_F_NESTED|unix.NFTA_LIST_ELEM, func() ([]byte, error) { return expr.Marshal(byte(TableFamily), e) })
	}
	exprs, err := list.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.String(unix.NFTA_RULE_TABLE, TableName)
	ae.String(unix.NFTA_RULE_CHAIN, InputChain)
	ae.Uint64(unix.NFTA_RULE_HANDLE, 7)
	ae.Bytes(unix.NLA_F_NESTED|unix.NFTA_RULE_EXPRESSIONS, exprs)
	ae.Bytes(unix.NFTA_RULE_USERDATA, rule.UserData)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func kernelCt(ct *expr.Ct) ([]byte, error) {
	data := netlink.NewAttributeEncoder()
	data.ByteOrder = binary.BigEndian
	data.Uint32(unix.NFTA_CT_DREG, ct.Register)
	data.Uint32(unix.NFTA_CT_KEY, uint32(ct.Key))
	if ct.Key == expr.CtKeyDST || ct.Key == expr.CtKeyPROTODST {
		data.Uint8(unix.NFTA_CT_DIRECTION, uint8(ct.Direction))
	}
	inner, err := data.Encode()
	if err != nil {
		return nil, err
	}
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.NFTA_EXPR_NAME, "ct")
	ae.Bytes(unix.NLA_F_NESTED|unix.NFTA_EXPR_DATA, inner)
	return ae.Encode()
}

func TestDecodeRuleReadsBackEveryRuleWeWrite(t *testing.T) {
	vips := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}
	for _, table := range []Table{Desired(vips, 8888), Draining(vips, 8888)} {
		for _, chain := range table.Chains {
			for i, want := range chain.Rules {
				got, err := decodeRule(kernelRule(t, want))
				if err != nil {
					t.Fatalf("chain %s rule %d: %v", chain.Name, i+1, err)
				}
				if !sameRule(want, got) {
					t.Errorf("chain %s rule %d reads back as %#v, want %#v", chain.Name, i+1, got.Exprs, want.Exprs)
				}
			}
		}
	}
}

func TestDecodeRuleWithAForeignExpressionReadsBackEmpty(t *testing.T) {
	want := Desired([]netip.Addr{netip.MustParseAddr("192.0.2.10")}, 8888).Chains[2].Rules[0]
	tampered := want
	tampered.Exprs = append(append([]expr.Any{}, want.Exprs...), &expr.Counter{})
	got, err := decodeRule(kernelRule(t, tampered))
	if err != nil {
		t.Fatal(err)
	}
	if got.Exprs != nil || sameRule(want, got) {
		t.Errorf("rule with a counter reads back as %#v, want no expressions", got.Exprs)
	}
}

func TestDecodeRuleRejectsAMalformedExpression(t *testing.T) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(unix.NFTA_RULE_EXPRESSIONS, func(list *netlink.AttributeEncoder) error {
		list.Nested(unix.NFTA_LIST_ELEM, func(e *netlink.AttributeEncoder) error {
			e.String(unix.NFTA_EXPR_NAME, "ct")
			e.Nested(unix.NFTA_EXPR_DATA, func(data *netlink.AttributeEncoder) error {
				data.Uint16(unix.NFTA_CT_KEY, 1) // a key is four bytes
				return nil
			})
			return nil
		})
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeRule(b); err == nil {
		t.Error("decodeRule() = nil error for a ct key of two bytes")
	}
}
