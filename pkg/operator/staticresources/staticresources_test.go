package staticresources

import (
	"errors"
	"testing"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/bindata"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

func TestActions(t *testing.T) {
	enabled := gate.Decision{Enabled: true, Reason: gate.ReasonAsExpected}
	disabled := gate.Decision{Reason: gate.ReasonUnsupportedPlatform}
	unknown := errors.New("infrastructure not synced")

	tests := []struct {
		name       string
		decision   gate.Decision
		err        error
		present    bool
		wantCreate bool
		wantDelete bool
	}{
		{name: "enabled: create", decision: enabled, present: false, wantCreate: true},
		{name: "enabled and present: create (apply is idempotent)", decision: enabled, present: true, wantCreate: true},
		{name: "disabled with resources left: delete", decision: disabled, present: true, wantDelete: true},
		{name: "disabled and already gone: nothing", decision: disabled, present: false},
		{name: "unknown decision with resources present: nothing", err: unknown, present: true},
		{name: "unknown decision that looks disabled: nothing", decision: disabled, err: unknown, present: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create, del := Actions(tt.decision, tt.err, func() bool { return tt.present })
			if create != tt.wantCreate || del != tt.wantDelete {
				t.Errorf("Actions() = create %v, delete %v; want create %v, delete %v", create, del, tt.wantCreate, tt.wantDelete)
			}
		})
	}
}

func TestFilesExist(t *testing.T) {
	for _, f := range Files {
		if _, err := bindata.Asset(f); err != nil {
			t.Errorf("Files lists %s: %v", f, err)
		}
	}
}
