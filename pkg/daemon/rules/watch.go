package rules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"k8s.io/klog/v2"
)

const (
	// monitorReadBuffer is the netlink socket buffer asked for. A flush of a
	// large ruleset (OVN-Kubernetes keeps many rules) produces a burst of
	// events; a bigger buffer makes an overrun, and the monitor restart it
	// causes, less likely. The kernel caps it at net.core.rmem_max.
	monitorReadBuffer = 4 << 20
	// monitorEventBuffer lets the monitor queue a few transactions while the
	// consumer is busy, before netlink itself has to buffer.
	monitorEventBuffer = 64
	// monitorRestartDelay paces restarts of a monitor that keeps failing.
	monitorRestartDelay = 200 * time.Millisecond
)

// Watch calls changed whenever a netlink transaction touches our table, until
// ctx is done. It restarts the monitor whenever its channel closes (the
// google/nftables monitor closes it on any receive error, ENOBUFS included)
// and calls changed then too, because events may have been lost.
//
// Watch only says "look again"; deciding whether anything is wrong is left to
// a read-back, so our own writes and unrelated changes cost one comparison.
func (k *Kernel) Watch(ctx context.Context, changed func()) {
	for {
		err := k.watchOnce(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		klog.V(2).InfoS("nftables monitor stopped; restarting it and checking the rules", "err", err)
		changed()
		select {
		case <-ctx.Done():
			return
		case <-time.After(monitorRestartDelay):
		}
	}
}

func (k *Kernel) watchOnce(ctx context.Context, changed func()) error {
	// A lasting connection lets us close the socket ourselves: the monitor's
	// own Close does not close it once the monitor has stopped on an error.
	options := append([]nftables.ConnOption{
		nftables.AsLasting(),
		nftables.WithSockOptions(func(c *netlink.Conn) error { return c.SetReadBuffer(monitorReadBuffer) }),
	}, k.options...)
	conn, err := nftables.New(options...)
	if err != nil {
		return fmt.Errorf("opening netlink connection for the monitor: %w", err)
	}
	monitor := nftables.NewMonitor(nftables.WithMonitorEventBuffer(monitorEventBuffer))
	events, err := conn.AddGenerationalMonitor(monitor)
	if err != nil {
		_ = conn.CloseLasting()
		return fmt.Errorf("starting the nftables monitor: %w", err)
	}
	defer func() {
		_ = monitor.Close()
		_ = conn.CloseLasting()
		// The monitor goroutine may be blocked sending to us; drain until it
		// closes the channel so that it can exit.
		for range events {
		}
	}()

	for {
		select {
		case <-ctx.Done():
			return nil
		case batch, ok := <-events:
			if !ok {
				return errors.New("monitor channel closed")
			}
			if err := monitorError(batch); err != nil {
				return err
			}
			if touchesOurTable(batch) {
				changed()
			}
		}
	}
}

// monitorError returns the error of an out-of-band event, which the monitor
// sends just before it gives up.
func monitorError(batch *nftables.MonitorEvents) error {
	for _, event := range batch.Changes {
		if event.Type == nftables.MonitorEventTypeOOB {
			return fmt.Errorf("nftables monitor: %w", event.Error)
		}
	}
	return nil
}

// touchesOurTable reports whether a transaction added or removed our table,
// one of its chains or rules. An event that could not be decoded counts as
// touching it: a needless read-back is cheap, a missed repair is not.
func touchesOurTable(batch *nftables.MonitorEvents) bool {
	for _, event := range batch.Changes {
		if event.Error != nil {
			return true
		}
		var table *nftables.Table
		switch data := event.Data.(type) {
		case *nftables.Table:
			table = data
		case *nftables.Chain:
			table = data.Table
		case *nftables.Rule:
			table = data.Table
		}
		if table != nil && table.Name == TableName && table.Family == TableFamily {
			return true
		}
	}
	return false
}
