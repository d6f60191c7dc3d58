//go:build linux

package kubetest

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Tools are the paths of the binaries and kwok's stage file, as .ci/k8s-tools.sh prints them.
type Tools struct {
	APIServer         string // KUBE_APISERVER
	ControllerManager string // KUBE_CONTROLLER_MANAGER
	Scheduler         string // KUBE_SCHEDULER
	Etcd              string // ETCD
	Kwok              string // KWOK
	KwokStages        string // KWOK_STAGES: kwok's fast node and pod stages in one file
	Helm              string // HELM
}

// ErrNoTools means the environment does not name the tools: run the tests through `make test`, or
// load the variables `.ci/k8s-tools.sh` prints.
var ErrNoTools = errors.New("kubetest: the Kubernetes test tools are not configured")

// RequireEnv is the environment variable that turns a missing tool from a skip into a failure.
const RequireEnv = "STAMPEDE_REQUIRE_K8S"

// ToolsFromEnv reads the tool paths from the variables .ci/k8s-tools.sh prints. It fails with
// ErrNoTools when any is unset, and with another error when a path set is not an executable file.
func ToolsFromEnv(lookup func(string) (string, bool)) (Tools, error) {
	var t Tools
	fields := []struct {
		key  string
		dst  *string
		exec bool
	}{
		{"KUBE_APISERVER", &t.APIServer, true},
		{"KUBE_CONTROLLER_MANAGER", &t.ControllerManager, true},
		{"KUBE_SCHEDULER", &t.Scheduler, true},
		{"ETCD", &t.Etcd, true},
		{"KWOK", &t.Kwok, true},
		{"KWOK_STAGES", &t.KwokStages, false},
		{"HELM", &t.Helm, true},
	}
	var missing []string
	for _, f := range fields {
		v, ok := lookup(f.key)
		if !ok || v == "" {
			missing = append(missing, f.key)
			continue
		}
		*f.dst = v
	}
	if len(missing) > 0 {
		return Tools{}, fmt.Errorf("%w: %s unset; run `make test` (it runs .ci/k8s-tools.sh and exports them) or `set -a; . <(.ci/k8s-tools.sh); set +a`",
			ErrNoTools, strings.Join(missing, ", "))
	}
	for _, f := range fields {
		st, err := os.Stat(*f.dst)
		switch {
		case err != nil:
			return Tools{}, fmt.Errorf("kubetest: %s=%s: %w (rerun .ci/k8s-tools.sh)", f.key, *f.dst, err)
		case st.IsDir():
			return Tools{}, fmt.Errorf("kubetest: %s=%s is a directory", f.key, *f.dst)
		case f.exec && st.Mode()&0o111 == 0:
			return Tools{}, fmt.Errorf("kubetest: %s=%s is not executable", f.key, *f.dst)
		}
	}
	return t, nil
}
