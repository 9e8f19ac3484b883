package daemon

import "testing"

func TestHasEffectiveCapability(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   bool
		fails  bool
	}{
		{"Name:\tdaemon\nCapInh:\t0000000000000000\nCapPrm:\t0000000000001000\nCapEff:\t0000000000001000\n", true, false},
		{"CapEff:\t000001ffffffffff\n", true, false},
		{"CapPrm:\t0000000000001000\nCapEff:\t0000000000000000\n", false, false},
		{"CapEff:\t00000000a80425fb\n", false, false}, // a container runtime's default set
		{"CapEff:\tzz\n", false, true},
		{"Name:\tdaemon\n", false, true},
	} {
		got, err := hasEffectiveCapability(tc.status, capNetAdmin)
		if (err != nil) != tc.fails || got != tc.want {
			t.Errorf("%q: %v, %v; want %v (fails: %v)", tc.status, got, err, tc.want, tc.fails)
		}
	}
}
