package rules

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeKernel holds a table in memory. Like the real monitor, it can announce
// every write it receives (onWrite), including the reconciler's own.
type fakeKernel struct {
	mu       sync.Mutex
	table    Table
	reads    int
	applies  int
	readErr  error
	applyErr error
	// mangle, if set, changes what Apply stores, as a kernel that reports
	// rules differently from how they were written would.
	mangle  func(Table) Table
	onWrite func()
}

func (k *fakeKernel) Read() (Table, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reads++
	return k.table, k.readErr
}

func (k *fakeKernel) Apply(want Table) error {
	k.mu.Lock()
	if k.applyErr != nil {
		k.mu.Unlock()
		return k.applyErr
	}
	k.applies++
	k.table = want
	if k.mangle != nil {
		k.table = k.mangle(want)
	}
	onWrite := k.onWrite
	k.mu.Unlock()
	if onWrite != nil {
		onWrite()
	}
	return nil
}

// tamper replaces the kernel's table, as `nft flush ruleset` would.
func (k *fakeKernel) tamper(t Table) {
	k.mu.Lock()
	k.table = t
	onWrite := k.onWrite
	k.mu.Unlock()
	if onWrite != nil {
		onWrite()
	}
}

func (k *fakeKernel) counts() (reads, applies int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reads, k.applies
}

type fakeObserver struct {
	mu      sync.Mutex
	present bool
	repairs []string
}

func (o *fakeObserver) SetRulesPresent(p bool) { o.mu.Lock(); o.present = p; o.mu.Unlock() }
func (o *fakeObserver) RulesRepaired(reason string) {
	o.mu.Lock()
	o.repairs = append(o.repairs, reason)
	o.mu.Unlock()
}

func (o *fakeObserver) snapshot() (bool, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.present, append([]string(nil), o.repairs...)
}

func newTestReconciler(k *fakeKernel) (*Reconciler, *fakeObserver) {
	o := &fakeObserver{}
	return NewReconciler(k, desiredForTest(), time.Hour, 5*time.Millisecond, o), o
}

func TestSync(t *testing.T) {
	errNetlink := errors.New("netlink: boom")
	tests := []struct {
		name string
		// installed says whether the reconciler had already found the rules
		// in place once, which decides between "install" and "repair".
		installed     bool
		kernel        *fakeKernel
		expectRetry   time.Duration
		expectApplies int
		expectInSync  bool
		expectRepairs []string
	}{
		{
			name:          "installs into an empty kernel without counting a repair",
			kernel:        &fakeKernel{},
			expectApplies: 1,
			expectInSync:  true,
		},
		{
			name:          "replaces a stale table at start without counting a repair",
			kernel:        &fakeKernel{table: Table{Present: true, Chains: []Chain{{Name: "prerouting"}}}},
			expectApplies: 1,
			expectInSync:  true,
		},
		{
			name:         "leaves an equal table alone",
			kernel:       &fakeKernel{table: desiredForTest()},
			expectInSync: true,
		},
		{
			name:          "repairs a deleted table and counts it by the first difference",
			installed:     true,
			kernel:        &fakeKernel{},
			expectApplies: 1,
			expectInSync:  true,
			expectRepairs: []string{"table_missing"},
		},
		{
			name:          "repairs a flushed chain",
			installed:     true,
			kernel:        &fakeKernel{table: mutated(func(t *Table) { t.Chains[0].Rules = nil })},
			expectApplies: 1,
			expectInSync:  true,
			expectRepairs: []string{"rule_count"},
		},
		{
			name:        "retries when the read fails",
			kernel:      &fakeKernel{readErr: errNetlink},
			expectRetry: retryAfterError,
		},
		{
			name:        "retries when the write fails",
			installed:   true,
			kernel:      &fakeKernel{applyErr: errNetlink},
			expectRetry: retryAfterError,
		},
		{
			name:      "does not claim success when the kernel reports something else than was written",
			installed: true,
			kernel: &fakeKernel{mangle: func(t Table) Table {
				t.Flags = 1
				return t
			}},
			expectRetry:   retryAfterError,
			expectApplies: 1,
			expectRepairs: []string{"table_missing"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, observer := newTestReconciler(tc.kernel)
			r.installed = tc.installed
			retry := r.sync()
			if retry != tc.expectRetry {
				t.Errorf("sync() retry = %v, want %v", retry, tc.expectRetry)
			}
			if _, applies := tc.kernel.counts(); applies != tc.expectApplies {
				t.Errorf("applies = %d, want %d", applies, tc.expectApplies)
			}
			present, repairs := observer.snapshot()
			if r.InSync() != tc.expectInSync || present != tc.expectInSync {
				t.Errorf("InSync() = %v, observer present = %v, want %v", r.InSync(), present, tc.expectInSync)
			}
			if len(repairs) != len(tc.expectRepairs) || (len(repairs) > 0 && repairs[0] != tc.expectRepairs[0]) {
				t.Errorf("repairs = %v, want %v", repairs, tc.expectRepairs)
			}
		})
	}
}

func TestSyncDelaysRepairsThatFollowEachOtherClosely(t *testing.T) {
	k := &fakeKernel{}
	r, observer := newTestReconciler(k)
	if retry := r.sync(); retry != 0 {
		t.Fatalf("install: retry = %v", retry)
	}
	k.tamper(Table{})
	if retry := r.sync(); retry != 0 {
		t.Fatalf("first repair soon after install: retry = %v, want it immediate", retry)
	}
	k.tamper(Table{})
	retry := r.sync()
	if retry <= 0 || retry > minRepairDelay {
		t.Fatalf("second repair right after the first: retry = %v, want a delay in (0, %v]", retry, minRepairDelay)
	}
	if _, applies := k.counts(); applies != 2 {
		t.Errorf("applies = %d, want 2 (install and first repair only)", applies)
	}
	if _, repairs := observer.snapshot(); len(repairs) != 1 {
		t.Errorf("repairs = %v, want one", repairs)
	}
}

func TestRepairBackoff(t *testing.T) {
	start := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	tests := []struct {
		name    string
		repairs []time.Duration // earlier repairs, relative to start
		now     time.Duration
		expect  time.Duration
	}{
		{name: "first repair is immediate", now: 0, expect: 0},
		{name: "after a quiet period it is immediate again", repairs: []time.Duration{0, time.Second}, now: time.Second + quietPeriod, expect: 0},
		{name: "second repair waits the minimum delay", repairs: []time.Duration{0}, now: 50 * time.Millisecond, expect: minRepairDelay - 50*time.Millisecond},
		{name: "a repair wanted after the delay has passed is immediate", repairs: []time.Duration{0}, now: time.Second, expect: 0},
		{
			name:    "delays double while repairs keep coming",
			repairs: []time.Duration{0, 200 * time.Millisecond, 600 * time.Millisecond},
			now:     600 * time.Millisecond,
			expect:  800 * time.Millisecond,
		},
		{
			name:    "delays are capped",
			repairs: []time.Duration{0, 1 * time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second, 6 * time.Second, 7 * time.Second, 8 * time.Second},
			now:     8 * time.Second,
			expect:  maxRepairDelay,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b repairBackoff
			for _, r := range tc.repairs {
				b.record(at(r))
			}
			if got := b.wait(at(tc.now)); got != tc.expect {
				t.Errorf("wait() = %v, want %v", got, tc.expect)
			}
		})
	}
}

// TestRunRepairsWithoutLoopingOnItsOwnWrites wires the fake kernel's write
// notifications to Trigger, as the netlink monitor is wired in the daemon:
// every write, ours included, asks for a check.
func TestRunRepairsWithoutLoopingOnItsOwnWrites(t *testing.T) {
	k := &fakeKernel{}
	r, observer := newTestReconciler(k)
	k.onWrite = r.Trigger

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "install", func() bool { _, applies := k.counts(); return applies == 1 && r.InSync() })
	settle()
	readsAfterInstall, applies := k.counts()
	if applies != 1 {
		t.Fatalf("applies after our own write settled = %d, want 1", applies)
	}
	// The install's own event costs one more read at most.
	if readsAfterInstall > 3 {
		t.Errorf("reads after install = %d, want at most 3", readsAfterInstall)
	}

	k.tamper(Table{})
	waitFor(t, "repair", func() bool { _, applies := k.counts(); return applies == 2 && r.InSync() })
	settle()
	if _, applies := k.counts(); applies != 2 {
		t.Errorf("applies after the repair settled = %d, want 2", applies)
	}
	if _, repairs := observer.snapshot(); len(repairs) != 1 || repairs[0] != "table_missing" {
		t.Errorf("repairs = %v, want [table_missing]", repairs)
	}
	if age := time.Since(r.LastHeartbeat()); age > time.Second {
		t.Errorf("heartbeat is %v old while the loop runs", age)
	}
}

func TestRunResyncsWithoutEvents(t *testing.T) {
	k := &fakeKernel{}
	r := NewReconciler(k, desiredForTest(), 20*time.Millisecond, time.Millisecond, &fakeObserver{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "install", func() bool { _, applies := k.counts(); return applies == 1 })
	// A change the reconciler is not told about (no onWrite) is found by
	// the periodic resync.
	k.tamper(Table{})
	waitFor(t, "repair by resync", func() bool { _, applies := k.counts(); return applies == 2 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle gives a runaway loop time to show itself.
func settle() { time.Sleep(100 * time.Millisecond) }
