package localcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProcessRecord identifies one detached process of the cluster. A pid alone
// could be reused by an unrelated process after ours exited; the pid and
// the process's start time (in clock ticks since boot, from /proc) together
// cannot.
type ProcessRecord struct {
	Name      string   `json:"name"`
	Netns     string   `json:"netns,omitempty"`
	PID       int      `json:"pid"`
	StartTime uint64   `json:"startTime"`
	Command   []string `json:"command"`
	Log       string   `json:"log"`
}

// processSpec is what to start.
type processSpec struct {
	// name names the process in logs, pid files and the state file.
	name string
	// netns is the network namespace to start it in; empty for the host's.
	netns string
	// hostMounts keeps the host's mount namespace in netns, which `ip netns
	// exec` would replace with one of its own: the kubelet's volume mounts
	// must be the ones containerd sees.
	hostMounts bool
	path       string
	args       []string
	// env is added to this process's environment.
	env []string
}

// startDetached starts spec as a daemon: in a session of its own (so that
// neither the terminal nor make's process group can signal it), with stdin
// from /dev/null and stdout and stderr appended to logPath. It writes the
// pid file before returning, so that Down finds the process even if
// whatever follows fails.
func startDetached(spec processSpec, logPath, pidPath string) (ProcessRecord, error) {
	argv := append([]string{spec.path}, spec.args...)
	switch {
	case spec.netns != "" && spec.hostMounts:
		// nsenter, without --fork, execs the command in place too.
		argv = append([]string{"nsenter", "--net=" + filepath.Join(netnsDir, spec.netns), "--"}, argv...)
	case spec.netns != "":
		// `ip netns exec` execs the command in place: the pid we get is
		// the process itself, not a wrapper.
		argv = append([]string{"ip", "netns", "exec", spec.netns}, argv...)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return ProcessRecord{}, err
	}
	defer logFile.Close()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return ProcessRecord{}, err
	}
	defer devNull.Close()
	fmt.Fprintf(logFile, "=== %s: starting %s\n", time.Now().Format(time.RFC3339), strings.Join(argv, " "))

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, logFile, logFile
	cmd.Env = append(os.Environ(), spec.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return ProcessRecord{}, fmt.Errorf("starting %s: %w", spec.name, err)
	}
	record := ProcessRecord{Name: spec.name, Netns: spec.netns, PID: cmd.Process.Pid, Command: argv, Log: logPath}
	// Reap the child if it exits while this process still runs, so that
	// it never lingers as a zombie that looks alive to kill(pid, 0).
	go func() { _ = cmd.Wait() }()
	record.StartTime, err = processStartTime(record.PID)
	if err != nil {
		return record, fmt.Errorf("%s exited at once (see %s): %w", spec.name, logPath, err)
	}
	if err := writePIDFile(pidPath, record); err != nil {
		return record, err
	}
	return record, nil
}

// writePIDFile writes "<pid> <start time>".
func writePIDFile(path string, r ProcessRecord) error {
	return os.WriteFile(path, []byte(fmt.Sprintf("%d %d\n", r.PID, r.StartTime)), 0o644)
}

// readPIDFile reads a pid file written by writePIDFile. The name is the
// file's base name without .pid.
func readPIDFile(path string) (ProcessRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ProcessRecord{}, err
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return ProcessRecord{}, fmt.Errorf("%s: want \"<pid> <start time>\", got %q", path, data)
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 1 {
		return ProcessRecord{}, fmt.Errorf("%s: bad pid %q", path, fields[0])
	}
	start, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return ProcessRecord{}, fmt.Errorf("%s: bad start time %q", path, fields[1])
	}
	return ProcessRecord{Name: strings.TrimSuffix(filepath.Base(path), ".pid"), PID: pid, StartTime: start}, nil
}

// processStartTime returns field 22 of /proc/<pid>/stat: when the process
// started, in clock ticks after boot.
func processStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces
	// and parentheses itself; the fields after the last ')' are plain.
	s := string(data)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[end+1:])
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	if fields[0] == "Z" {
		return 0, fmt.Errorf("process %d has exited", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// Alive reports whether the recorded process still runs: a process with its
// pid exists, was started at the recorded time and has not exited.
func (r ProcessRecord) Alive() bool {
	start, err := processStartTime(r.PID)
	return err == nil && start == r.StartTime
}

// Stop sends SIGTERM, waits up to grace for the process to exit, then
// kills it. Stopping a process that no longer runs is a no-op.
func (r ProcessRecord) Stop(grace time.Duration) error {
	if !r.Alive() {
		return nil
	}
	if err := syscall.Kill(r.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping %s (pid %d): %w", r.Name, r.PID, err)
	}
	if waitExit(r, grace) {
		return nil
	}
	if err := syscall.Kill(r.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing %s (pid %d): %w", r.Name, r.PID, err)
	}
	if waitExit(r, 10*time.Second) {
		return fmt.Errorf("%s (pid %d) did not stop within %v after SIGTERM and was killed", r.Name, r.PID, grace)
	}
	return fmt.Errorf("%s (pid %d) still runs after SIGKILL", r.Name, r.PID)
}

func waitExit(r ProcessRecord, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for r.Alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
