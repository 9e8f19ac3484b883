package apiserver

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

// process is a child process whose stdout and stderr go to a log file. It
// runs in its own process group so that stopping it also stops anything it
// started.
type process struct {
	name    string
	path    string
	args    []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	err  error         // cmd.Wait's result, valid once done is closed
}

// start starts the process, appending its output to logPath.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		return fmt.Errorf("%s is already running (pid %d)", p.name, p.cmd.Process.Pid)
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logFile, "=== %s: starting %s %s\n", time.Now().Format(time.RFC3339Nano), p.path, strings.Join(p.args, " "))
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = os.Environ()
	setProcessGroup(cmd)
	done := make(chan struct{})
	started := make(chan error, 1)
	// Pdeathsig (proc_linux.go) fires when the forking *thread* exits, not
	// the process, and the Go runtime ends threads whose locked goroutine
	// returns, as test/framework/netns's Do does. Forking on a thread locked
	// until the child exits keeps etcd and kube-apiserver alive for as long
	// as the test process runs, whatever other goroutines do with threads.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			logFile.Close()
			started <- fmt.Errorf("starting %s: %w", p.name, err)
			return
		}
		started <- nil
		err := cmd.Wait()
		fmt.Fprintf(logFile, "=== %s: %s exited: %v\n", time.Now().Format(time.RFC3339Nano), p.name, err)
		logFile.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	if err := <-started; err != nil {
		return err
	}
	p.cmd, p.done, p.err = cmd, done, nil
	return nil
}

// exited reports whether the process was started and has exited since, and
// with which error.
func (p *process) exited() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || !isClosed(p.done) {
		return false, nil
	}
	return true, p.err
}

// running reports whether the process is started and has not exited.
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !isClosed(p.done)
}

// stop sends SIGTERM to the process group and waits up to grace for it to
// exit, then kills it. Stopping a process that is not running is a no-op.
func (p *process) stop(grace time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if isClosed(done) {
		return nil
	}
	if err := terminateGroup(cmd); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = killGroup(cmd)
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	if err := killGroup(cmd); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s: %w", p.name, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, cmd.Process.Pid)
	}
}

// kill kills the process group at once, without a grace period.
func (p *process) kill() error {
	return p.stop(0)
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// tailFile returns the last n lines of a file, or a note saying why it
// could not be read.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	// Ring buffer of the last n lines; log lines can be long.
	lines := make([]string, 0, n)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if len(lines) == n {
			copy(lines, lines[1:])
			lines = lines[:n-1]
		}
		lines = append(lines, sc.Text())
	}
	return strings.Join(lines, "\n")
}

// logContains reports whether the file contains s.
func logContains(path, s string) bool {
	data, err := os.ReadFile(path)
	return err == nil && strings.Contains(string(data), s)
}
