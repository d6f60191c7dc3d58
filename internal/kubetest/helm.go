//go:build linux

package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Helm runs the helm binary against a cluster, with a home of its own (cache, config and data
// directories), so that it neither reads nor writes the user's.
type Helm struct {
	Bin string
	// Kubeconfig is passed as --kubeconfig when set (commands that talk to a cluster need it).
	Kubeconfig string
	// Home holds helm's cache, config and data directories.
	Home string
}

// Helm returns a Helm that talks to the control plane as its admin.
func (cp *ControlPlane) Helm() *Helm {
	return &Helm{Bin: cp.Tools.Helm, Kubeconfig: cp.Kubeconfig, Home: filepath.Join(cp.Dir, "helm")}
}

// Run runs helm with args and returns its stdout; a failure's error carries stderr too.
func (h *Helm) Run(ctx context.Context, args ...string) (string, error) {
	if h.Kubeconfig != "" {
		args = append(args, "--kubeconfig", h.Kubeconfig)
	}
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	cmd.Env = append(childEnv(),
		"HELM_CACHE_HOME="+filepath.Join(h.Home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.Home, "config"),
		"HELM_DATA_HOME="+filepath.Join(h.Home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderrWithoutNoise(stderr.String()))
	}
	return stdout.String(), nil
}

// stderrWithoutNoise drops helm's notice that a chart file is a symbolic link (the chart's demo
// script is one, on purpose).
func stderrWithoutNoise(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "found symbolic link in path") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
