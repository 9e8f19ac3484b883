package localcluster

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// ContainerPID is the host pid of a running container on a node with a
// kubelet; containerID is the pod status's, containerd://<id>.
func ContainerPID(ctx context.Context, s *State, nodeName, containerID string) (int, error) {
	id, ok := strings.CutPrefix(containerID, "containerd://")
	if !ok {
		return 0, fmt.Errorf("container ID %q is not containerd's", containerID)
	}
	out, err := nodeCtr(ctx, s, nodeName, "tasks", "ls")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no task %s on %s", id, nodeName)
}

// RemoveImage deletes an image from a node's containerd, as if it had never
// been pulled: with no registry reachable, a pod that needs it fails with
// ErrImagePull.
func RemoveImage(ctx context.Context, s *State, nodeName, image string) error {
	_, err := nodeCtr(ctx, s, nodeName, "images", "rm", image)
	return err
}

// RestoreImage imports a local image into a node's containerd again.
func RestoreImage(ctx context.Context, s *State, nodeName, image string) error {
	archive, ok := s.ImageArchives[image]
	if !ok {
		return fmt.Errorf("%s is not a local image", image)
	}
	_, err := nodeCtr(ctx, s, nodeName, "images", "import", archive)
	return err
}

// nodeCtr runs ctr against the kubelet's containerd namespace of a node.
func nodeCtr(ctx context.Context, s *State, nodeName string, args ...string) (string, error) {
	n, ok := s.Topology.Node(nodeName)
	if !ok || !n.HasKubelet() {
		return "", fmt.Errorf("node %s has no kubelet of the local cluster", nodeName)
	}
	out, err := newNodeRuntime(s, n).ctr(ctx, "ctr", args...)
	if err != nil {
		return "", fmt.Errorf("ctr %s on %s: %w: %s", strings.Join(args, " "), nodeName, err, out)
	}
	return out, nil
}

// ctr runs the ctr binary at path against the node's containerd, in the
// namespace the kubelet uses, and returns what it printed.
func (r nodeRuntime) ctr(ctx context.Context, path string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, path, append([]string{"--address", r.containerdSocket(), "--namespace", "k8s.io"}, args...)...).CombinedOutput()
	return string(out), err
}
