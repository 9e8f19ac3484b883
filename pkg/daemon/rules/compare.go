package rules

import (
	"bytes"
	"fmt"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// DifferenceKind classifies a Difference. The values are used as a metrics
// label, so the set is small and fixed.
type DifferenceKind string

const (
	TableMissing    DifferenceKind = "table_missing"
	TableFlags      DifferenceKind = "table_flags"
	ChainMissing    DifferenceKind = "chain_missing"
	ChainUnexpected DifferenceKind = "chain_unexpected"
	ChainDefinition DifferenceKind = "chain_definition"
	RuleCount       DifferenceKind = "rule_count"
	RuleDiffers     DifferenceKind = "rule_differs"
)

// Difference is one way in which the kernel's table differs from the desired
// one, worded for the log line that announces a repair.
type Difference struct {
	Kind   DifferenceKind
	Detail string
}

// Details returns the details of diffs, for a log line that reads well.
func Details(diffs []Difference) []string {
	details := make([]string, len(diffs))
	for i, d := range diffs {
		details[i] = d.Detail
	}
	return details
}

// Diff lists how got differs from want; an empty result means they are equal.
// Rules are compared by their netlink encoding after normalising what the
// kernel fills in on its own, which ignores Go-level details such as a nil
// versus an empty slice.
func Diff(want, got Table) []Difference {
	if !got.Present {
		return []Difference{{Kind: TableMissing, Detail: "table missing"}}
	}
	var diffs []Difference
	if got.Flags != want.Flags {
		diffs = append(diffs, Difference{Kind: TableFlags, Detail: fmt.Sprintf("table flags are %#x, want %#x", got.Flags, want.Flags)})
	}
	gotChains := make(map[string]Chain, len(got.Chains))
	for _, c := range got.Chains {
		gotChains[c.Name] = c
	}
	for _, w := range want.Chains {
		g, ok := gotChains[w.Name]
		if !ok {
			diffs = append(diffs, Difference{Kind: ChainMissing, Detail: fmt.Sprintf("chain %s missing", w.Name)})
			continue
		}
		delete(gotChains, w.Name)
		diffs = append(diffs, diffChain(w, g)...)
	}
	for _, g := range got.Chains {
		if _, unexpected := gotChains[g.Name]; unexpected {
			diffs = append(diffs, Difference{Kind: ChainUnexpected, Detail: fmt.Sprintf("unexpected chain %s", g.Name)})
		}
	}
	return diffs
}

func diffChain(want, got Chain) []Difference {
	if want.Type != got.Type || want.Hook != got.Hook || want.Priority != got.Priority || want.Policy != got.Policy {
		return []Difference{{Kind: ChainDefinition, Detail: fmt.Sprintf(
			"chain %s: definition differs (type %s hook %d priority %d policy %d, want type %s hook %d priority %d policy %d)",
			want.Name, got.Type, got.Hook, got.Priority, got.Policy, want.Type, want.Hook, want.Priority, want.Policy)}}
	}
	if len(want.Rules) != len(got.Rules) {
		return []Difference{{Kind: RuleCount, Detail: fmt.Sprintf("chain %s: %d rules, want %d", want.Name, len(got.Rules), len(want.Rules))}}
	}
	var diffs []Difference
	for i := range want.Rules {
		if !sameRule(want.Rules[i], got.Rules[i]) {
			// Rules are numbered from 1 for the humans reading the log.
			diffs = append(diffs, Difference{Kind: RuleDiffers, Detail: fmt.Sprintf("chain %s: rule %d differs", want.Name, i+1)})
		}
	}
	return diffs
}

func sameRule(want, got Rule) bool {
	if !bytes.Equal(want.UserData, got.UserData) || len(want.Exprs) != len(got.Exprs) {
		return false
	}
	for i := range want.Exprs {
		w, errW := encode(want.Exprs[i])
		g, errG := encode(got.Exprs[i])
		if errW != nil || errG != nil || !bytes.Equal(w, g) {
			return false
		}
	}
	return true
}

func encode(e expr.Any) ([]byte, error) {
	return expr.Marshal(byte(TableFamily), normalise(e))
}

// normalise returns e as the kernel reports it back: a redirect given only a
// minimum port register gets the same register as maximum and the
// PROTO_SPECIFIED flag. Applying it to both sides makes either spelling of
// the same rule compare equal.
func normalise(e expr.Any) expr.Any {
	redir, ok := e.(*expr.Redir)
	if !ok || redir.RegisterProtoMin == 0 {
		return e
	}
	n := *redir
	if n.RegisterProtoMax == 0 {
		n.RegisterProtoMax = n.RegisterProtoMin
	}
	n.Flags |= unix.NF_NAT_RANGE_PROTO_SPECIFIED
	return &n
}
