package rules

import (
	"context"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
)

const (
	// DefaultDebounce is how long a burst of netlink events is left to settle
	// before the table is read back: long enough to coalesce one `nft -f`
	// transaction's events, short enough to repair "within about a second".
	DefaultDebounce = 100 * time.Millisecond
	// retryAfterError is when a failed read or write is tried again.
	retryAfterError = time.Second
)

// kernel is the part of *Kernel the reconciler needs, so that its decisions
// can be tested without netlink.
type kernel interface {
	Read() (Table, error)
	Apply(Table) error
}

// Observer is told what the reconciler finds and does (metrics).
type Observer interface {
	SetRulesPresent(bool)
	RulesRepaired(reason string)
}

// Reconciler keeps our table in the kernel equal to the desired one. It
// checks when told that something changed (Trigger, debounced), periodically
// (the resync interval, in case an event was missed) and after its own errors,
// and rewrites the table only when a read-back differs, so that its own
// writes end in one comparison rather than a loop.
type Reconciler struct {
	kernel   kernel
	want     Table
	resync   time.Duration
	debounce time.Duration
	observer Observer
	backoff  repairBackoff

	triggers  chan struct{}
	installed bool
	inSync    atomic.Bool
	heartbeat atomic.Int64 // unix nanoseconds of the last loop iteration
}

// NewReconciler returns a reconciler that keeps want in k.
func NewReconciler(k kernel, want Table, resync, debounce time.Duration, observer Observer) *Reconciler {
	r := &Reconciler{
		kernel:   k,
		want:     want,
		resync:   resync,
		debounce: debounce,
		observer: observer,
		triggers: make(chan struct{}, 1),
	}
	r.heartbeat.Store(time.Now().UnixNano())
	return r
}

// Trigger asks for a check soon. It never blocks: triggers that arrive while
// one is pending are merged.
func (r *Reconciler) Trigger() {
	select {
	case r.triggers <- struct{}{}:
	default:
	}
}

// InSync reports whether the last check found the kernel's table equal to the
// desired one.
func (r *Reconciler) InSync() bool { return r.inSync.Load() }

// LastHeartbeat is when the loop last went round; a stale value means it is
// stuck (e.g. in a netlink call that never returns).
func (r *Reconciler) LastHeartbeat() time.Time { return time.Unix(0, r.heartbeat.Load()) }

// Run checks at once and then keeps the table in sync until ctx is done. It
// does not remove the table on return: the caller decides when, so that
// shutdown can order it before draining connections.
func (r *Reconciler) Run(ctx context.Context) {
	resync := time.NewTicker(r.resync)
	defer resync.Stop()
	check := newCheckTimer()
	defer check.stop()
	check.within(0)

	for {
		r.heartbeat.Store(time.Now().UnixNano())
		select {
		case <-ctx.Done():
			return
		case <-r.triggers:
			check.within(r.debounce)
		case <-resync.C:
			check.within(0)
		case <-check.C():
			check.fired()
			if retry := r.sync(); retry > 0 {
				check.within(retry)
			}
		}
	}
}

// sync compares the kernel with the desired table and rewrites it if they
// differ. It returns when to check again, or 0 to wait for the next event or
// resync.
func (r *Reconciler) sync() time.Duration {
	got, err := r.kernel.Read()
	if err != nil {
		klog.ErrorS(err, "Failed to read nftables rules back; will retry", "table", TableName)
		r.setInSync(false)
		return retryAfterError
	}
	diffs := Diff(r.want, got)
	if len(diffs) == 0 {
		r.installed = true
		r.setInSync(true)
		return 0
	}
	r.setInSync(false)
	return r.rewrite(diffs)
}

// rewrite replaces the kernel's table with the desired one, unless repairs
// follow each other so closely that the next one has to wait.
func (r *Reconciler) rewrite(diffs []Difference) time.Duration {
	now := time.Now()
	if wait := r.backoff.wait(now); wait > 0 {
		klog.V(2).InfoS("nftables rules differ but were repaired moments ago; delaying the next repair", "table", TableName, "differences", Details(diffs), "delay", wait)
		return wait
	}
	if err := r.kernel.Apply(r.want); err != nil {
		klog.ErrorS(err, "Failed to write nftables rules; will retry", "table", TableName, "differences", Details(diffs))
		return retryAfterError
	}
	if r.installed {
		r.backoff.record(now)
	}
	r.report(diffs)
	return r.verify()
}

// verify reads back what was just written. If the kernel does not report
// the desired table, comparing is broken and repairing at once would only
// loop, so it is only tried again later.
func (r *Reconciler) verify() time.Duration {
	got, err := r.kernel.Read()
	if err != nil {
		klog.ErrorS(err, "Failed to read nftables rules back after writing them; will retry", "table", TableName)
		return retryAfterError
	}
	if diffs := Diff(r.want, got); len(diffs) > 0 {
		klog.ErrorS(nil, "nftables rules still differ right after writing them", "table", TableName, "differences", Details(diffs))
		return retryAfterError
	}
	r.installed = true
	r.setInSync(true)
	return 0
}

// report logs what was wrong. The first write after start is an install (or
// the replacement of a table a killed predecessor left behind), not a repair.
func (r *Reconciler) report(diffs []Difference) {
	if !r.installed {
		klog.InfoS("Installed nftables rules", "table", TableName, "previousState", Details(diffs))
		return
	}
	klog.InfoS("Repaired nftables rules", "table", TableName, "differences", Details(diffs))
	r.observer.RulesRepaired(string(diffs[0].Kind))
}

func (r *Reconciler) setInSync(inSync bool) {
	r.inSync.Store(inSync)
	r.observer.SetRulesPresent(inSync)
}

// checkTimer is a single timer that fires at the earliest check asked for.
type checkTimer struct {
	timer *time.Timer
	due   time.Time // zero when no check is pending
}

func newCheckTimer() *checkTimer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &checkTimer{timer: t}
}

// within makes sure a check happens no later than d from now.
func (c *checkTimer) within(d time.Duration) {
	due := time.Now().Add(d)
	if !c.due.IsZero() && !due.Before(c.due) {
		return
	}
	c.due = due
	c.timer.Reset(d)
}

func (c *checkTimer) C() <-chan time.Time { return c.timer.C }
func (c *checkTimer) fired()              { c.due = time.Time{} }
func (c *checkTimer) stop()               { c.timer.Stop() }

// repairBackoff spaces out repairs when something keeps undoing them (another
// agent deleting our table in a loop): the first repair is immediate, each
// one that follows the previous within quietPeriod waits twice as long as the
// last, up to maxRepairDelay. This bounds both the log and the netlink churn
// of such a fight.
type repairBackoff struct {
	last  time.Time
	delay time.Duration
}

const (
	quietPeriod      = 10 * time.Second
	minRepairDelay   = 200 * time.Millisecond
	maxRepairDelay   = 10 * time.Second
	repairDelayScale = 2
)

// wait returns how long to hold off a repair wanted at now.
func (b *repairBackoff) wait(now time.Time) time.Duration {
	if b.last.IsZero() || now.Sub(b.last) >= quietPeriod {
		return 0
	}
	next := b.last.Add(b.nextDelay())
	if !now.Before(next) {
		return 0
	}
	return next.Sub(now)
}

// record notes a repair made at now.
func (b *repairBackoff) record(now time.Time) {
	if b.last.IsZero() || now.Sub(b.last) >= quietPeriod {
		b.delay = 0
	} else {
		b.delay = b.nextDelay()
	}
	b.last = now
}

func (b *repairBackoff) nextDelay() time.Duration {
	return min(max(b.delay*repairDelayScale, minRepairDelay), maxRepairDelay)
}
