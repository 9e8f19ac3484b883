package localcluster

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPIDFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etcd.pid")
	want := ProcessRecord{Name: "etcd", PID: 4242, StartTime: 123456}
	if err := writePIDFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := readPIDFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != want.Name || got.PID != want.PID || got.StartTime != want.StartTime {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "4242", "abc 1", "1 1", "4242 x"} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readPIDFile(path); err == nil {
			t.Errorf("pid file %q was accepted", bad)
		}
	}
}

// TestAliveNeedsTheStartTime checks that a recycled pid is not taken for
// the process that had it: Down must never signal an unrelated process.
func TestAliveNeedsTheStartTime(t *testing.T) {
	start, err := processStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !(ProcessRecord{PID: os.Getpid(), StartTime: start}).Alive() {
		t.Error("this test process is not alive")
	}
	if (ProcessRecord{PID: os.Getpid(), StartTime: start + 1}).Alive() {
		t.Error("a process with another start time counts as alive")
	}
}

func TestStartDetachedAndStop(t *testing.T) {
	dir := t.TempDir()
	r, err := startDetached(processSpec{name: "sleep", path: "/bin/sleep", args: []string{"600"}},
		filepath.Join(dir, "sleep.log"), filepath.Join(dir, "sleep.pid"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop(0) })
	fromFile, err := readPIDFile(filepath.Join(dir, "sleep.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if !fromFile.Alive() || fromFile.PID != r.PID {
		t.Fatalf("the pid file names %+v, the process is %+v", fromFile, r)
	}
	if err := r.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if r.Alive() {
		t.Error("still alive after Stop")
	}
	if err := r.Stop(time.Second); err != nil {
		t.Errorf("stopping a stopped process: %v", err)
	}
}
