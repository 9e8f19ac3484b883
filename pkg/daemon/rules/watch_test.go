package rules

import (
	"errors"
	"testing"

	"github.com/google/nftables"
)

func TestTouchesOurTable(t *testing.T) {
	ours := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	sameNameOtherFamily := &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
	other := &nftables.Table{Name: "ovn-kubernetes", Family: nftables.TableFamilyINet}
	event := func(data any) *nftables.MonitorEvent { return &nftables.MonitorEvent{Data: data} }

	tests := []struct {
		name    string
		changes []*nftables.MonitorEvent
		expect  bool
	}{
		{name: "our table deleted", changes: []*nftables.MonitorEvent{event(ours)}, expect: true},
		{name: "our chain changed", changes: []*nftables.MonitorEvent{event(&nftables.Chain{Name: "output", Table: ours})}, expect: true},
		{name: "our rule changed", changes: []*nftables.MonitorEvent{event(&nftables.Rule{Table: ours})}, expect: true},
		{name: "among other changes", changes: []*nftables.MonitorEvent{event(other), event(&nftables.Rule{Table: other}), event(&nftables.Rule{Table: ours})}, expect: true},
		{name: "undecodable event", changes: []*nftables.MonitorEvent{{Error: errors.New("bad message")}}, expect: true},
		{name: "someone else's table", changes: []*nftables.MonitorEvent{event(other), event(&nftables.Chain{Name: "output", Table: other})}},
		{name: "a table of our name in another family", changes: []*nftables.MonitorEvent{event(sameNameOtherFamily)}},
		{name: "a set", changes: []*nftables.MonitorEvent{event(&nftables.Set{Table: ours})}},
		{name: "a chain without table", changes: []*nftables.MonitorEvent{event(&nftables.Chain{Name: "x"})}},
		{name: "nothing", changes: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := touchesOurTable(&nftables.MonitorEvents{Changes: tc.changes}); got != tc.expect {
				t.Errorf("touchesOurTable() = %v, want %v", got, tc.expect)
			}
		})
	}
}

func TestMonitorError(t *testing.T) {
	enobufs := errors.New("receive: no buffer space available")
	batch := &nftables.MonitorEvents{Changes: []*nftables.MonitorEvent{
		{Data: &nftables.Table{Name: TableName}},
		{Type: nftables.MonitorEventTypeOOB, Error: enobufs},
	}}
	if err := monitorError(batch); !errors.Is(err, enobufs) {
		t.Errorf("monitorError() = %v, want it to wrap %v", err, enobufs)
	}
	if err := monitorError(&nftables.MonitorEvents{Changes: batch.Changes[:1]}); err != nil {
		t.Errorf("monitorError() of a normal batch = %v", err)
	}
}
