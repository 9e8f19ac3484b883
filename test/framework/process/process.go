// Package process runs the binaries the test harnesses start (daemons in
// network namespaces, the operator): started so that they die with the test
// binary, with their output collected while they run.
package process

import (
	"bytes"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// Start starts cmd in a process group of its own, with SIGKILL as its
// parent-death signal, and returns a channel closed once it has exited (its
// ProcessState is then set).
//
// Pdeathsig fires when the forking *thread* exits, and the Go runtime ends a
// thread whose locked goroutine returns (as netns.Do's do). So the fork
// happens on a thread locked here until the child has exited.
func Start(cmd *exec.Cmd) (<-chan struct{}, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	done := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	return done, <-started
}

// KillGroup sends SIGKILL to the process group Start gave cmd.
func KillGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// Output collects a running process's output: the process writes from its
// own goroutines while a test reads what it wrote so far.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
