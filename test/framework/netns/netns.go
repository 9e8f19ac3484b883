// Package netns builds throwaway network topologies for tests that need a
// real kernel: network namespaces made with `ip netns add`, joined by veth
// pairs to a bridge, with sockets opened and processes started inside them.
// Everything a test creates is removed in t.Cleanup, also when the test
// fails; namespaces left behind by a test binary that was killed are swept
// the next time one is created.
//
// It needs root and the `ip` command (iproute2).
package netns

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/process"
)

const (
	// namePrefix starts every namespace this package creates. The creating
	// process's PID follows, so that leftovers of a dead test binary can be
	// told apart from the namespaces of a test running right now.
	namePrefix = "h01t-"
	// netnsDir is where `ip netns` keeps its named namespaces.
	netnsDir = "/run/netns"
)

var (
	sequence  atomic.Uint32
	sweepOnce sync.Once
	staleName = regexp.MustCompile(`^` + namePrefix + `(\d+)-`)
)

// Namespace is a named network namespace owned by one test.
type Namespace struct {
	// Name is the name `ip netns` knows it by.
	Name string
}

// New creates a network namespace with its loopback up, and deletes it when
// the test ends. role is a short word for logs (e.g. "node"); the full name
// is unique across test runs.
func New(t testing.TB, role string) *Namespace {
	t.Helper()
	sweepOnce.Do(func() { sweepStale(t) })
	ns := &Namespace{Name: fmt.Sprintf("%s%d-%d-%s", namePrefix, os.Getpid(), sequence.Add(1), role)}
	run(t, "ip", "netns", "add", ns.Name)
	t.Cleanup(func() {
		// Processes started in the namespace have cleanups registered
		// later, so they have been killed by now.
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("deleting namespace %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.IP(t, "link", "set", "lo", "up")
	return ns
}

// IP runs `ip -n <namespace> args...` and fails the test if it fails.
func (n *Namespace) IP(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, "ip", append([]string{"-n", n.Name}, args...)...)
}

// Exec runs a command inside the namespace (`ip netns exec`) and returns
// its combined output, failing the test if it fails.
func (n *Namespace) Exec(t testing.TB, name string, args ...string) string {
	t.Helper()
	return run(t, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Command returns a command that runs name inside the namespace. `ip netns
// exec` execs name in place, so the process is name itself: signals sent
// to it reach it directly.
func (n *Namespace) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Open returns the namespace's file, e.g. for nftables.WithNetNSFd. The
// caller closes it.
func (n *Namespace) Open() (*os.File, error) {
	return os.Open(filepath.Join(netnsDir, n.Name))
}

// Do runs fn on an OS thread that has entered the namespace. Sockets fn
// creates belong to the namespace for their whole life, whichever goroutine
// uses them later. The thread is never handed back to the Go scheduler: it
// exits with the goroutine, so no other code runs in the wrong namespace.
func (n *Namespace) Do(fn func() error) error {
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread, on purpose (see above).
		f, err := n.Open()
		if err != nil {
			errs <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errs <- fmt.Errorf("entering namespace %s: %w", n.Name, err)
			return
		}
		errs <- fn()
	}()
	return <-errs
}

// Listen opens a listener inside the namespace.
func (n *Namespace) Listen(network, address string) (net.Listener, error) {
	var ln net.Listener
	err := n.Do(func() error {
		var err error
		ln, err = net.Listen(network, address)
		return err
	})
	return ln, err
}

// DialContext connects from inside the namespace.
func (n *Namespace) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var conn net.Conn
	err := n.Do(func() error {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, network, address)
		return err
	})
	return conn, err
}

// HTTPClient returns a client whose connections start inside the namespace.
// It uses no proxy from the environment, follows no redirects and opens a
// new connection per request, so every request is seen on the wire.
func (n *Namespace) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       n.DialContext,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Process is a command running inside a namespace, killed (with its whole
// process group) when the test ends.
type Process struct {
	Name   string
	cmd    *exec.Cmd
	output *process.Output
	done   <-chan struct{}
}

// Start starts name inside the namespace. Its output is kept and logged if
// the test fails. The process gets its own process group, killed on cleanup,
// and SIGKILL if the test binary itself dies.
func (n *Namespace) Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	return n.StartWithEnv(t, nil, name, args...)
}

// StartWithEnv is Start with env (KEY=value) added to the test's environment.
func (n *Namespace) StartWithEnv(t testing.TB, env []string, name string, args ...string) *Process {
	t.Helper()
	p := &Process{Name: filepath.Base(name), cmd: n.Command(name, args...), output: &process.Output{}}
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	done, err := process.Start(p.cmd)
	if err != nil {
		t.Fatalf("starting %s in %s: %v", name, n.Name, err)
	}
	p.done = done
	t.Cleanup(func() {
		process.KillGroup(p.cmd)
		<-p.done
		if t.Failed() {
			t.Logf("output of %s in %s:\n%s", p.Name, n.Name, p.Output())
		}
	})
	return p
}

// Pid is the process's id (`ip netns exec` execs in place).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to timeout for the process to exit and returns its exit
// code, or an error if it is still running.
func (p *Process) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s still running after %v", p.Name, timeout)
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output returns what the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.output.String() }

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sweepStale deletes namespaces that a test binary which no longer runs left
// behind (a timeout panic skips t.Cleanup), and kills what still runs in
// them. Namespaces of live test binaries are left alone.
func sweepStale(t testing.TB) {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return // no named namespace exists yet
	}
	for _, e := range entries {
		m := staleName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		if pids, err := exec.Command("ip", "netns", "pids", e.Name()).Output(); err == nil {
			for _, field := range strings.Fields(string(pids)) {
				if p, err := strconv.Atoi(field); err == nil {
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}
		}
		if out, err := exec.Command("ip", "netns", "del", e.Name()).CombinedOutput(); err != nil {
			t.Logf("removing stale namespace %s: %v: %s", e.Name(), err, out)
		} else {
			t.Logf("removed stale namespace %s", e.Name())
		}
	}
}

// RequireRoot skips the test when not run as root: network namespaces and
// nftables need it. CI runs these tests as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: this test creates network namespaces and nftables rules and must run as root (CI runs it as root)")
	}
}

// RequireCommands fails the test if a command it needs is not installed.
func RequireCommands(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			t.Fatalf("%s is not installed: run hack/ensure-packages.sh", name)
		}
	}
}
