package diagnose

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestCheckLine(t *testing.T) {
	tests := []struct {
		check  Check
		expect string
	}{
		{Check{Hop: HopDNS, Target: "api.x", Status: Pass, Message: "resolves to 192.0.2.100, the API VIPs"},
			"✓ DNS             api.x: resolves to 192.0.2.100, the API VIPs"},
		{Check{Hop: HopPort80, Target: "192.0.2.100", Status: Fail, Message: "connection refused", Action: "check the proxy"},
			"✗ port 80         192.0.2.100: connection refused → check the proxy"},
		{Check{Hop: HopChallenge, Target: "192.0.2.100", Status: Skip, Message: "not checked"},
			"– challenge path  192.0.2.100: not checked"},
		{Check{Hop: HopClusterOperator, Target: "ClusterOperator/x", Status: Info, Message: "m"},
			"· ClusterOperator ClusterOperator/x: m"},
	}
	for _, tc := range tests {
		if got := tc.check.Line(); got != tc.expect {
			t.Errorf("Line() =\n  %q\nwant\n  %q", got, tc.expect)
		}
	}
}

func TestWriteText(t *testing.T) {
	tests := []struct {
		name   string
		checks []Check
		expect string
	}{
		{"all good", []Check{{Hop: HopDNS, Target: "api.x", Status: Pass, Message: "ok"}, {Hop: HopCluster, Target: "kubeconfig", Status: Info, Message: "none"}},
			"✓ DNS             api.x: ok\n· cluster         kubeconfig: none\nevery hop to api.x passes\n"},
		{"one failed", []Check{{Hop: HopDNS, Target: "api.x", Status: Fail, Message: "no", Action: "fix"}, {Hop: HopCluster, Target: "kubeconfig", Status: Info, Message: "none"}},
			"✗ DNS             api.x: no → fix\n· cluster         kubeconfig: none\n1 of 2 checks failed: start with the first ✗\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := NewReport("api.x", tc.checks).WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.expect {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.expect)
			}
		})
	}
}

// TestWriteJSON pins the JSON field names: automation depends on them.
func TestWriteJSON(t *testing.T) {
	report := NewReport("api.x", []Check{
		{Hop: HopPort80, Target: "192.0.2.100", Status: Fail, Message: "connection refused", Action: "check the proxy"},
		{Hop: HopFilter, Target: "192.0.2.100", Status: Skip, Message: "not checked"},
	})
	var b bytes.Buffer
	if err := report.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	expect := map[string]any{
		"domain": "api.x",
		"passed": false,
		"checks": []any{
			map[string]any{"hop": "port80", "target": "192.0.2.100", "status": "fail", "message": "connection refused", "action": "check the proxy"},
			map[string]any{"hop": "filter", "target": "192.0.2.100", "status": "skip", "message": "not checked"},
		},
	}
	if !reflect.DeepEqual(got, expect) {
		t.Errorf("JSON\n  %s\nwant the fields of\n  %v", b.String(), expect)
	}
}

func TestReportPassesWithoutFailures(t *testing.T) {
	for _, tc := range []struct {
		statuses []Status
		expect   bool
	}{
		{nil, true},
		{[]Status{Pass, Info}, true},
		{[]Status{Pass, Fail, Skip}, false},
	} {
		var checks []Check
		for _, s := range tc.statuses {
			checks = append(checks, Check{Status: s})
		}
		if got := NewReport("d", checks).Passed; got != tc.expect {
			t.Errorf("%v: Passed = %v, want %v", tc.statuses, got, tc.expect)
		}
	}
}
