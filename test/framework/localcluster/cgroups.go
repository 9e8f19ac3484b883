package localcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// cgroupHierarchies are the mounted cgroup hierarchies: the v1 controllers
// of a hybrid host, or the unified one.
func cgroupHierarchies() []string {
	paths, _ := filepath.Glob("/sys/fs/cgroup/*/cgroup.procs")
	if len(paths) == 0 {
		return []string{"/sys/fs/cgroup"}
	}
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Dir(p))
	}
	return out
}

// createCgroupRoot creates root in every hierarchy, as the kubelet wants
// it to exist. A new v1 cpuset has no CPUs or memory nodes, and nothing can
// join it: each level gets its parent's.
func createCgroupRoot(root string) error {
	for _, h := range cgroupHierarchies() {
		dir := h
		for _, part := range strings.Split(strings.Trim(root, "/"), "/") {
			parent := dir
			dir = filepath.Join(dir, part)
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("creating cgroup %s: %w", dir, err)
			}
			for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
				if err := inheritCgroupFile(parent, dir, file); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func inheritCgroupFile(parent, dir, file string) error {
	want, err := os.ReadFile(filepath.Join(parent, file))
	if err != nil {
		return nil // not a cpuset hierarchy
	}
	have, _ := os.ReadFile(filepath.Join(dir, file))
	if strings.TrimSpace(string(have)) != "" {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, file), want, 0o644); err != nil {
		return fmt.Errorf("setting %s of cgroup %s: %w", file, dir, err)
	}
	return nil
}

// currentCgroup is this process's cgroup: the memory controller's on a v1
// or hybrid host, the unified one otherwise.
func currentCgroup() (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	unified := ""
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if slices.Contains(strings.Split(parts[1], ","), "memory") {
			return parts[2], nil
		}
		if parts[0] == "0" {
			unified = parts[2]
		}
	}
	return unified, nil
}
