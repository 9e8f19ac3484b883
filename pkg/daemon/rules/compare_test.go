package rules

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func desiredForTest() Table {
	return Desired([]netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}, 8888)
}

// mutated returns a deep enough copy of desiredForTest with change applied, so
// that cases cannot leak into each other.
func mutated(change func(*Table)) Table {
	t := desiredForTest()
	chains := make([]Chain, len(t.Chains))
	for i, c := range t.Chains {
		c.Rules = append([]Rule(nil), c.Rules...)
		chains[i] = c
	}
	t.Chains = chains
	change(&t)
	return t
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name   string
		got    Table
		expect []Difference
	}{
		{
			name: "equal",
			got:  desiredForTest(),
		},
		{
			name:   "table missing",
			got:    Table{},
			expect: []Difference{{TableMissing, "table missing"}},
		},
		{
			name:   "table dormant",
			got:    mutated(func(t *Table) { t.Flags = 1 | TableFlagOwner }),
			expect: []Difference{{TableFlags, "table flags are 0x3, want 0x2"}},
		},
		{
			name:   "table not owned (an earlier version's)",
			got:    mutated(func(t *Table) { t.Flags = 0 }),
			expect: []Difference{{TableFlags, "table flags are 0x0, want 0x2"}},
		},
		{
			name:   "empty table after a flush of its chains",
			got:    Table{Present: true, Flags: TableFlagOwner},
			expect: []Difference{{ChainMissing, "chain prerouting missing"}, {ChainMissing, "chain output missing"}, {ChainMissing, "chain input missing"}},
		},
		{
			name: "chains in another order are fine",
			got:  mutated(func(t *Table) { t.Chains[0], t.Chains[1] = t.Chains[1], t.Chains[0] }),
		},
		{
			name:   "unexpected chain",
			got:    mutated(func(t *Table) { t.Chains = append(t.Chains, Chain{Name: "sneaky"}) }),
			expect: []Difference{{ChainUnexpected, "unexpected chain sneaky"}},
		},
		{
			name: "chain with another priority",
			got:  mutated(func(t *Table) { t.Chains[1].Priority = 0 }),
			expect: []Difference{{ChainDefinition,
				"chain output: definition differs (type nat hook 3 priority 0 policy 1, want type nat hook 3 priority -100 policy 1)"}},
		},
		{
			name: "regular chain in place of a base chain",
			got:  mutated(func(t *Table) { t.Chains[0] = Chain{Name: "prerouting", Rules: t.Chains[0].Rules} }),
			expect: []Difference{{ChainDefinition,
				"chain prerouting: definition differs (type  hook 0 priority 0 policy 0, want type nat hook 0 priority -100 policy 1)"}},
		},
		{
			name:   "guard flushed",
			got:    mutated(func(t *Table) { t.Chains[2].Rules = nil }),
			expect: []Difference{{RuleCount, "chain input: 0 rules, want 3"}},
		},
		{
			name: "guard's reject turned into a drop of everything",
			got: mutated(func(t *Table) {
				t.Chains[2].Rules[2] = Rule{Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}, UserData: t.Chains[2].Rules[2].UserData}
			}),
			expect: []Difference{{RuleDiffers, "chain input: rule 3 differs"}},
		},
		{
			name: "guard accepting any DNAT, as it once did",
			got: mutated(func(t *Table) {
				r := &t.Chains[2].Rules[0]
				r.Exprs = concat(r.Exprs[:9], matchCtBits(expr.CtKeySTATUS, 1<<5), r.Exprs[len(r.Exprs)-1:])
			}),
			expect: []Difference{{RuleDiffers, "chain input: rule 1 differs"}},
		},
		{
			name: "guard accepting a VIP on any port",
			got: mutated(func(t *Table) {
				r := &t.Chains[2].Rules[1]
				r.Exprs = concat(r.Exprs[:11], r.Exprs[len(r.Exprs)-1:])
			}),
			expect: []Difference{{RuleDiffers, "chain input: rule 2 differs"}},
		},
		{
			name: "guard matching the reply direction",
			got: mutated(func(t *Table) {
				r := &t.Chains[2].Rules[0]
				exprs := append([]expr.Any(nil), r.Exprs...)
				exprs[9] = &expr.Ct{Key: expr.CtKeyDST, Register: 1, Direction: 1}
				r.Exprs = exprs
			}),
			expect: []Difference{{RuleDiffers, "chain input: rule 1 differs"}},
		},
		{
			name:   "flushed chain",
			got:    mutated(func(t *Table) { t.Chains[1].Rules = nil }),
			expect: []Difference{{RuleCount, "chain output: 0 rules, want 2"}},
		},
		{
			name: "extra rule inserted",
			got: mutated(func(t *Table) {
				t.Chains[0].Rules = append([]Rule{{Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}}}, t.Chains[0].Rules...)
			}),
			expect: []Difference{{RuleCount, "chain prerouting: 3 rules, want 2"}},
		},
		{
			name:   "rules swapped",
			got:    mutated(func(t *Table) { r := t.Chains[0].Rules; r[0], r[1] = r[1], r[0] }),
			expect: []Difference{{RuleDiffers, "chain prerouting: rule 1 differs"}, {RuleDiffers, "chain prerouting: rule 2 differs"}},
		},
		{
			name: "redirect to another port",
			got: mutated(func(t *Table) {
				r := &t.Chains[1].Rules[1]
				r.Exprs = append(append([]expr.Any(nil), r.Exprs[:len(r.Exprs)-2]...), redirectTo(9999)...)
			}),
			expect: []Difference{{RuleDiffers, "chain output: rule 2 differs"}},
		},
		{
			name: "comment changed",
			got: mutated(func(t *Table) {
				t.Chains[0].Rules[0].UserData = ruleComment("something else")
			}),
			expect: []Difference{{RuleDiffers, "chain prerouting: rule 1 differs"}},
		},
		{
			name: "counter appended",
			got: mutated(func(t *Table) {
				r := &t.Chains[0].Rules[1]
				r.Exprs = append(append([]expr.Any(nil), r.Exprs...), &expr.Counter{})
			}),
			expect: []Difference{{RuleDiffers, "chain prerouting: rule 2 differs"}},
		},
		{
			name: "redirect read back in the short form the kernel accepts is the same",
			got: mutated(func(t *Table) {
				r := &t.Chains[0].Rules[0]
				exprs := append([]expr.Any(nil), r.Exprs...)
				exprs[len(exprs)-1] = &expr.Redir{RegisterProtoMin: 1}
				r.Exprs = exprs
			}),
		},
		{
			name: "redirect with an extra flag differs",
			got: mutated(func(t *Table) {
				r := &t.Chains[0].Rules[0]
				exprs := append([]expr.Any(nil), r.Exprs...)
				exprs[len(exprs)-1] = &expr.Redir{RegisterProtoMin: 1, RegisterProtoMax: 1, Flags: 2 | 4}
				r.Exprs = exprs
			}),
			expect: []Difference{{RuleDiffers, "chain prerouting: rule 1 differs"}},
		},
		{
			name: "several problems are all reported",
			got: mutated(func(t *Table) {
				t.Flags = 1
				t.Chains = t.Chains[:1]
				t.Chains[0].Rules = t.Chains[0].Rules[:1]
			}),
			expect: []Difference{
				{TableFlags, "table flags are 0x1, want 0x2"},
				{RuleCount, "chain prerouting: 1 rules, want 2"},
				{ChainMissing, "chain output missing"},
				{ChainMissing, "chain input missing"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(desiredForTest(), tc.got)
			if !reflect.DeepEqual(got, tc.expect) {
				t.Errorf("Diff() =\n  %#v\nwant\n  %#v", got, tc.expect)
			}
		})
	}
}

func TestNormaliseLeavesOtherExpressionsAlone(t *testing.T) {
	for _, e := range []expr.Any{
		&expr.Redir{}, // no port: nothing for the kernel to fill in
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Verdict{Kind: expr.VerdictAccept},
	} {
		if got := normalise(e); got != e {
			t.Errorf("normalise(%#v) = %#v, want it unchanged", e, got)
		}
	}
}

func TestTableFlagsUndoesTheLibrarysByteOrder(t *testing.T) {
	// What google/nftables v0.3.0 returns for a dormant table: the kernel's
	// big-endian 1, decoded in host order.
	listed := &nftables.Table{Flags: binary.NativeEndian.Uint32([]byte{0, 0, 0, 1})}
	if got := tableFlags(listed); got != unix.NFT_TABLE_F_DORMANT {
		t.Errorf("tableFlags() = %#x, want %#x", got, unix.NFT_TABLE_F_DORMANT)
	}
}
