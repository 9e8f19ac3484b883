package rules

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Kernel reads and writes our table over netlink, in the network namespace
// of the calling process. It never touches any other table and never flushes
// the ruleset: other components (OVN-Kubernetes, kube-proxy, the platform's
// own VIP redirects) keep their tables in the same kernel.
//
// The table is owned (TableFlagOwner) by one lasting netlink socket that
// Kernel keeps open: the kernel deletes the table as soon as that socket
// closes, when the daemon exits or is killed, and refuses changes to it from
// any other socket (EPERM), so nothing else can alter or remove our rules and
// nothing is left on the node without a daemon.
type Kernel struct {
	options []nftables.ConnOption

	mu    sync.Mutex
	owner *nftables.Conn // the lasting connection that owns our table; nil without one
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

// Apply atomically replaces the chains and rules of our table with want's,
// first creating the table, owned, if this Kernel holds none. The table's
// flags are always TableFlagOwner: want.Flags is what Read reports for it.
func (k *Kernel) Apply(want Table) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.owner == nil {
		owner, err := k.createOwnedTable()
		if err != nil {
			return err
		}
		k.owner = owner
	}
	if err := writeChains(k.owner, want); err != nil {
		// The socket may hold replies never read. Closing it deletes the
		// table, which the next Apply creates afresh.
		k.closeOwner()
		return fmt.Errorf("writing nftables table %s: %w", TableName, err)
	}
	return nil
}

// Remove deletes our table if it exists, and closes the socket owning it.
func (k *Kernel) Remove() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.owner != nil {
		k.owner.DelTable(ourTable())
		err := k.owner.Flush()
		k.closeOwner() // deletes the table even if the delete failed
		if err != nil {
			return fmt.Errorf("deleting nftables table %s: %w", TableName, err)
		}
		return nil
	}
	// Without an owned table there may still be one that an earlier version,
	// which did not own its table, left behind. Adding it first makes the
	// delete succeed when there is none.
	conn, err := k.conn()
	if err != nil {
		return err
	}
	conn.AddTable(ourTable())
	conn.DelTable(ourTable())
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("deleting nftables table %s: %w", TableName, err)
	}
	return nil
}

// Close closes the socket owning our table, which makes the kernel delete
// the table at once, without draining.
func (k *Kernel) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closeOwner()
}

func (k *Kernel) closeOwner() {
	if k.owner != nil {
		_ = k.owner.CloseLasting()
		k.owner = nil
	}
}

// createOwnedTable opens a lasting connection and, on its socket, replaces
// any table of our name with an empty one that the socket owns.
// google/nftables v0.3.0 always sends table flags 0 and cannot create it, so
// the message is our own (see ownedTableBatch); every later change goes
// through the same socket, and never through AddTable, whose flags 0 the
// kernel refuses on an owned table.
func (k *Kernel) createOwnedTable() (*nftables.Conn, error) {
	conn, sock, err := k.lastingConn()
	if err != nil {
		return nil, err
	}
	if err := sendBatch(sock, ownedTableBatch()); err != nil {
		_ = conn.CloseLasting()
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("creating nftables table %s: another process owns it: %w", TableName, err)
		}
		return nil, fmt.Errorf("creating nftables table %s: %w", TableName, err)
	}
	return conn, nil
}

// lastingConn opens a lasting connection and returns its socket too, for
// the messages google/nftables v0.3.0 cannot send or decode.
func (k *Kernel) lastingConn() (*nftables.Conn, *netlink.Conn, error) {
	var sock *netlink.Conn
	options := append(append([]nftables.ConnOption{}, k.options...),
		nftables.AsLasting(),
		nftables.WithSockOptions(func(c *netlink.Conn) error { sock = c; return nil }))
	conn, err := nftables.New(options...)
	if err != nil {
		return nil, nil, fmt.Errorf("opening netlink connection: %w", err)
	}
	return conn, sock, nil
}

// ownedTableBatch is `add table inet <ours>; delete table inet <ours>; add
// table inet <ours> { flags owner; }`: the first add makes the delete succeed
// when there is no table, and the delete takes away one an earlier version
// left unowned, which the kernel would not let us take ownership of.
func ownedTableBatch() []netlink.Message {
	return []netlink.Message{
		tableMessage(unix.NFT_MSG_NEWTABLE, netlink.Create, 0),
		tableMessage(unix.NFT_MSG_DELTABLE, 0, 0),
		tableMessage(unix.NFT_MSG_NEWTABLE, netlink.Create, TableFlagOwner),
	}
}

// tableMessage is one nf_tables message about our table: nfgenmsg, then
// NFTA_TABLE_NAME and NFTA_TABLE_FLAGS (big endian), acknowledged.
func tableMessage(msgType int, flags netlink.HeaderFlags, tableFlags uint32) netlink.Message {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.String(unix.NFTA_TABLE_NAME, TableName)
	ae.Uint32(unix.NFTA_TABLE_FLAGS, tableFlags)
	attrs, _ := ae.Encode() // cannot fail: two fixed attributes
	return netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | msgType),
			Flags: netlink.Request | netlink.Acknowledge | flags,
		},
		Data: append(nfgenmsg(byte(TableFamily), 0), attrs...),
	}
}

// nfgenmsg is the header of every nfnetlink message: family, version, and
// a resource id in big endian (the subsystem, in batch messages).
func nfgenmsg(family byte, resID uint16) []byte {
	return []byte{family, unix.NFNETLINK_V0, byte(resID >> 8), byte(resID)}
}

// sendBatch sends messages in one nf_tables transaction and reads their
// acknowledgements; the kernel commits all of it or nothing.
func sendBatch(sock *netlink.Conn, messages []netlink.Message) error {
	batch := []netlink.Message{{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN), Flags: netlink.Request},
		Data:   nfgenmsg(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES),
	}}
	batch = append(batch, messages...)
	batch = append(batch, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_MSG_BATCH_END), Flags: netlink.Request},
		Data:   nfgenmsg(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES),
	})
	if _, err := sock.SendMessages(batch); err != nil {
		return err
	}
	for range messages {
		if _, err := sock.Receive(); err != nil {
			return err
		}
	}
	return nil
}

// writeChains replaces the rules of our (existing, owned) table with want's
// in one batch: it deletes every rule of the table, then adds each chain (a
// no-op for one that exists with the same hook and priority) and its rules.
// Only our socket can change the table, so the chains found are always ours.
func writeChains(conn *nftables.Conn, want Table) error {
	table := ourTable()
	conn.FlushTable(table)
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
	return conn.Flush()
}

// Read returns our table as the kernel holds it. Listing tables and chains
// uses dumps, which answer "not there" with an empty result rather than an
// error, so that a missing table or chain is reported as state, not failure.
func (k *Kernel) Read() (Table, error) {
	conn, sock, err := k.lastingConn()
	if err != nil {
		return Table{}, err
	}
	defer func() { _ = conn.CloseLasting() }()
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
		chain, err := readChain(sock, c)
		if err != nil {
			return Table{}, err
		}
		got.Chains = append(got.Chains, chain)
	}
	return got, nil
}

func readChain(sock *netlink.Conn, c *nftables.Chain) (Chain, error) {
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
	rules, err := readRules(sock, c.Name)
	if err != nil {
		return Chain{}, fmt.Errorf("listing rules of chain %s: %w", c.Name, err)
	}
	chain.Rules = rules
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
