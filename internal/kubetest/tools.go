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
	err := LoadToolVars(lookup, ToolSet{
		Package: "kubetest", NotConfigured: ErrNoTools,
		Fix:     "run `make test` (it runs .ci/k8s-tools.sh and exports them) or `set -a; . <(.ci/k8s-tools.sh); set +a`",
		Rebuild: "rerun .ci/k8s-tools.sh",
	}, []ToolVar{
		{"KUBE_APISERVER", &t.APIServer, Executable},
		{"KUBE_CONTROLLER_MANAGER", &t.ControllerManager, Executable},
		{"KUBE_SCHEDULER", &t.Scheduler, Executable},
		{"ETCD", &t.Etcd, Executable},
		{"KWOK", &t.Kwok, Executable},
		{"KWOK_STAGES", &t.KwokStages, File},
		{"HELM", &t.Helm, Executable},
	})
	if err != nil {
		return Tools{}, err
	}
	return t, nil
}

// ToolKind is what a tool variable names.
type ToolKind int

// Tool kinds.
const (
	Executable ToolKind = iota // an executable file
	File                       // a file
	Dir                        // a directory
	Text                       // a value that is no path (a version)
)

// ToolVar is one KEY=VALUE line a tools script prints, and where its value goes.
type ToolVar struct {
	Key  string
	Dst  *string
	Kind ToolKind
}

// ToolSet says, for LoadToolVars's errors, whose tools these are and how to get them.
type ToolSet struct {
	Package       string // the error prefix
	NotConfigured error  // wrapped when a variable is unset
	Fix           string // how to set the variables
	Rebuild       string // how to rebuild a tool whose path is wrong
}

// LoadToolVars sets every variable's Dst from lookup. It fails wrapping set.NotConfigured, naming
// every variable unset or empty, or naming the first path that is not of its kind.
func LoadToolVars(lookup func(string) (string, bool), set ToolSet, vars []ToolVar) error {
	var missing []string
	for _, v := range vars {
		val, ok := lookup(v.Key)
		if !ok || val == "" {
			missing = append(missing, v.Key)
			continue
		}
		*v.Dst = val
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s unset; %s", set.NotConfigured, strings.Join(missing, ", "), set.Fix)
	}
	for _, v := range vars {
		if v.Kind == Text {
			continue
		}
		st, err := os.Stat(*v.Dst)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %s=%s: %w (%s)", set.Package, v.Key, *v.Dst, err, set.Rebuild)
		case v.Kind == Dir && !st.IsDir():
			return fmt.Errorf("%s: %s=%s is not a directory", set.Package, v.Key, *v.Dst)
		case v.Kind != Dir && st.IsDir():
			return fmt.Errorf("%s: %s=%s is a directory", set.Package, v.Key, *v.Dst)
		case v.Kind == Executable && st.Mode()&0o111 == 0:
			return fmt.Errorf("%s: %s=%s is not executable", set.Package, v.Key, *v.Dst)
		}
	}
	return nil
}
