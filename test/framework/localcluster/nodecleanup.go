package localcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopNodeRuntime stops one node's kubelet, then its containers, each
// with SIGTERM and its grace period as the kubelet would (the daemon
// removes its nftables table on SIGTERM), then containerd, and removes
// what they leave on the host: mounts, cgroups, the run directory and the
// kubelet's links in /var/log/containers.
func stopNodeRuntime(r nodeRuntime, records []ProcessRecord, ctr string) error {
	var errs []error
	stop := func(name string, grace time.Duration) {
		for _, rec := range records {
			if rec.Name == name && rec.Alive() {
				errs = append(errs, rec.Stop(grace))
			}
		}
	}
	stop(r.kubeletName(), 10*time.Second)
	if ctr != "" {
		errs = append(errs, stopContainers(r, ctr, 30*time.Second))
	}
	stop(r.containerdName(), 10*time.Second)
	stop(r.forwarderName(), 10*time.Second)
	errs = append(errs, killShims(r), killCgroup(r), unmountUnder(r.dir), unmountUnder(r.runDir),
		removeCgroups(r), removeContainerLogLinks(r.podLogs()))
	if err := os.RemoveAll(r.runDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stopContainers signals every task of containerd's k8s.io namespace with
// SIGTERM, waits up to grace for them to exit, kills what is left, and
// deletes them.
func stopContainers(r nodeRuntime, ctr string, grace time.Duration) error {
	if _, err := os.Stat(r.containerdSocket()); err != nil {
		return nil
	}
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return r.ctr(ctx, ctr, args...)
	}
	running := func() []string {
		out, err := run("tasks", "ls")
		if err != nil {
			return nil
		}
		var ids []string
		for _, line := range strings.Split(out, "\n")[1:] {
			if f := strings.Fields(line); len(f) == 3 && f[2] == "RUNNING" {
				ids = append(ids, f[0])
			}
		}
		return ids
	}
	for _, id := range running() {
		_, _ = run("tasks", "kill", "--signal", "SIGTERM", id)
	}
	deadline := time.Now().Add(grace)
	for len(running()) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	for _, id := range running() {
		_, _ = run("tasks", "kill", "--signal", "SIGKILL", id)
	}
	out, err := run("tasks", "ls", "--quiet")
	if err != nil {
		return nil // containerd is gone; killCgroup ends what it left
	}
	var errs []error
	for _, id := range strings.Fields(out) {
		// The CRI plugin deletes a task once it has exited, so one listed a
		// moment ago may be gone: that is the outcome wanted.
		if out, err := run("tasks", "delete", "--force", id); err != nil && !strings.Contains(out, "not found") {
			errs = append(errs, fmt.Errorf("deleting task %s: %w: %s", id, err, out))
		}
	}
	return errors.Join(errs...)
}

// killShims ends containerd's shims of this node, which outlive a
// containerd that died.
func killShims(r nodeRuntime) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if strings.Contains(args[0], "containerd-shim") && slices.Contains(args, r.containerdSocket()) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

// killCgroup kills every process left in the node's cgroups: containers
// whose shim died with containerd.
func killCgroup(r nodeRuntime) error {
	for _, h := range cgroupHierarchies() {
		_ = filepath.WalkDir(filepath.Join(h, r.cgroupRoot()), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(path)
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			return nil
		})
	}
	return nil
}

// removeCgroups removes the node's cgroup tree, deepest first, waiting a
// moment for killed processes to leave it.
func removeCgroups(r nodeRuntime) error {
	var errs []error
	for _, h := range cgroupHierarchies() {
		root := filepath.Join(h, r.cgroupRoot())
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, d := range dirs {
			var err error
			for range 50 {
				if err = os.Remove(d); err == nil || errors.Is(err, fs.ErrNotExist) {
					err = nil
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder lazily unmounts every mount point under dir, deepest first:
// overlay root filesystems, the kubelet's tmpfs volumes, pod namespaces.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var points []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			points = append(points, fields[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// containerLogLinks is where every kubelet links its containers' logs,
// whatever its podLogsDir: a path fixed in the kubelet.
const containerLogLinks = "/var/log/containers"

// removeContainerLogLinks removes the links of /var/log/containers that
// point into podLogs.
func removeContainerLogLinks(podLogs string) error {
	entries, err := os.ReadDir(containerLogLinks)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		link := filepath.Join(containerLogLinks, e.Name())
		if target, err := os.Readlink(link); err == nil && strings.HasPrefix(target, podLogs+"/") {
			_ = os.Remove(link)
		}
	}
	return nil
}

// Paths fixed in the kubelet and containerd whatever their configuration:
// the device plugins' socket and the shims' socket directory. They are
// removed once nothing else is in them, so that a machine whose own
// kubelet or containerd uses them keeps them.
var fixedRuntimePaths = []string{
	"/var/lib/kubelet/device-plugins/kubelet.sock",
	"/var/lib/kubelet/device-plugins",
	"/var/lib/kubelet",
	"/run/containerd/s",
	"/run/containerd",
}

// removeFixedRuntimePaths removes what the kubelets and containerds left in
// fixedRuntimePaths: os.Remove takes only a file or an empty directory. A
// kubelet still running (another cluster's, or the machine's own) keeps
// its socket.
func removeFixedRuntimePaths() {
	if kubeletRunning() {
		return
	}
	for _, p := range fixedRuntimePaths {
		if st, err := os.Lstat(p); err == nil && (st.IsDir() || st.Mode()&os.ModeSocket != 0) {
			_ = os.Remove(p)
		}
	}
}

// kubeletRunning reports whether any live process is a kubelet. A zombie
// keeps its name until its parent, here often PID 1, reaps it.
func kubeletRunning() bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		open, closing := strings.IndexByte(string(data), '('), strings.LastIndexByte(string(data), ')')
		if open < 0 || closing < open || len(data) < closing+3 {
			continue
		}
		if string(data[open+1:closing]) == "kubelet" && data[closing+2] != 'Z' {
			return true
		}
	}
	return false
}
