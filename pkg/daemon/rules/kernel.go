package rules

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
)

// Kernel reads and writes our table over netlink, in the network namespace
// of the calling process. It never touches any other table and never flushes
// the ruleset: other components (OVN-Kubernetes, kube-proxy, the platform's
// own VIP redirects) keep their tables in the same kernel.
type Kernel struct {
	options []nftables.ConnOption
}

// NewKernel returns a Kernel whose netlink connections are made with the
// given options (tests pass nftables.WithNetNSFd to work in another
// namespace).
func NewKernel(options ...nftables.ConnOption) *Kernel {
	return &Kernel{options: options}
}

func (k *Kernel) conn() (*nftables.Conn, error) {
	conn, err := nftables.New(k.options...)
	if err != nil {
		return nil, fmt.Errorf("opening netlink connection: %w", err)
	}
	return conn, nil
}

func ourTable() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: TableFamily}
}

// Apply atomically replaces our table with want; whatever a killed
// predecessor left behind is simply replaced.
func (k *Kernel) Apply(want Table) error {
	return k.replaceTable(&want)
}

// Remove deletes our table if it exists.
func (k *Kernel) Remove() error {
	return k.replaceTable(nil)
}

// replaceTable deletes our table and adds want (unless nil) in its place, in
// one batch. The batch first creates the table (a no-op if it exists) so that
// the delete cannot fail on a missing table and abort the batch. The kernel
// commits all of it or nothing, so traffic never sees a half-written table.
func (k *Kernel) replaceTable(want *Table) error {
	conn, err := k.conn()
	if err != nil {
		return err
	}
	table := ourTable()
	conn.AddTable(table)
	conn.DelTable(table)
	if want != nil {
		addTable(conn, table, *want)
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("writing nftables table %s: %w", TableName, err)
	}
	return nil
}

func addTable(conn *nftables.Conn, table *nftables.Table, want Table) {
	conn.AddTable(table)
	for _, c := range want.Chains {
		hook, priority, policy := c.Hook, c.Priority, c.Policy
		chain := conn.AddChain(&nftables.Chain{
			Name:     c.Name,
			Table:    table,
			Type:     c.Type,
			Hooknum:  &hook,
			Priority: &priority,
			Policy:   &policy,
		})
		for _, r := range c.Rules {
			conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: r.Exprs, UserData: r.UserData})
		}
	}
}

// Read returns our table as the kernel holds it. Listing tables and chains
// uses dumps, which answer "not there" with an empty result rather than an
// error, so that a missing table or chain is reported as state, not failure.
func (k *Kernel) Read() (Table, error) {
	conn, err := k.conn()
	if err != nil {
		return Table{}, err
	}
	tables, err := conn.ListTablesOfFamily(TableFamily)
	if err != nil {
		return Table{}, fmt.Errorf("listing nftables tables: %w", err)
	}
	var got Table
	for _, t := range tables {
		if t.Name == TableName {
			got.Present, got.Flags = true, tableFlags(t)
		}
	}
	if !got.Present {
		return got, nil
	}
	chains, err := conn.ListChainsOfTableFamily(TableFamily)
	if err != nil {
		return Table{}, fmt.Errorf("listing nftables chains: %w", err)
	}
	for _, c := range chains {
		if c.Table == nil || c.Table.Name != TableName {
			continue
		}
		chain, err := readChain(conn, c)
		if err != nil {
			return Table{}, err
		}
		got.Chains = append(got.Chains, chain)
	}
	return got, nil
}

func readChain(conn *nftables.Conn, c *nftables.Chain) (Chain, error) {
	chain := Chain{Name: c.Name, Type: c.Type}
	// A regular (non-base) chain has no hook; the zero values then differ
	// from any desired base chain, which is what we want.
	if c.Hooknum != nil {
		chain.Hook = *c.Hooknum
	}
	if c.Priority != nil {
		chain.Priority = *c.Priority
	}
	if c.Policy != nil {
		chain.Policy = *c.Policy
	}
	rules, err := conn.GetRules(ourTable(), c)
	if err != nil {
		return Chain{}, fmt.Errorf("listing rules of chain %s: %w", c.Name, err)
	}
	for _, r := range rules {
		chain.Rules = append(chain.Rules, Rule{Exprs: r.Exprs, UserData: r.UserData})
	}
	return chain, nil
}

// tableFlags returns the flags of a table listed by google/nftables v0.3.0,
// which decodes the big-endian NFTA_TABLE_FLAGS attribute in host byte order
// (dormant reads as 0x1000000 on x86). Re-encoding the value in host order
// gives back the kernel's bytes.
func tableFlags(t *nftables.Table) uint32 {
	raw := binary.NativeEndian.AppendUint32(nil, t.Flags)
	return binary.BigEndian.Uint32(raw)
}
