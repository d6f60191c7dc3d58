//go:build linux

package nodetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/stampede-load/stampede/internal/kubetest"
)

// A node whose process dies without Stop leaves a running container, its shim, mounts, cgroups,
// the bridge, iptables chains and changed sysctls behind. The next node tears all that down before
// it starts, and checks the machine against what the dead one recorded.
func TestNewRecoversFromADeadNode(t *testing.T) {
	tools := NeedTools(t)
	if os.Getenv(RequireEnv) == "1" {
		t.Setenv(kubetest.RequireEnv, "1")
	}
	cp := kubetest.Start(t, kubetest.Options{Tools: kubetest.NeedTools(t), RealNodes: true})
	ctx := context.Background()
	ip, err := DefaultNodeIP()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Tools: tools, NodeIP: ip}
	dead, err := New(ctx, cp, opts)
	if err != nil {
		t.Fatal(err)
	}
	deadDir := dead.Dir
	// If the test fails before the second node runs, the first is torn down as a dead one.
	t.Cleanup(func() {
		if _, err := os.Stat(StatePath); err == nil {
			if st, err := readState(StatePath); err == nil && st != nil && st.Dir == deadDir {
				lock, err := lockMachine(ctx, LockPath, nil)
				if err == nil {
					t.Log(recoverCrashed(*st, StatePath))
					lock.release()
				}
			}
		}
	})

	// A pod of the sandbox image itself: nothing to build, and it runs until killed.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper", Namespace: "default"},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: ptrBool(false),
			Containers:                   []corev1.Container{{Name: "pause", Image: dead.SandboxImage, ImagePullPolicy: corev1.PullNever}},
		},
	}
	if _, err := cp.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var last error
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := cp.Client.CoreV1().Pods("default").Get(ctx, "sleeper", metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		last = fmt.Errorf("phase %s", p.Status.Phase)
		return p.Status.Phase == corev1.PodRunning, nil
	}); err != nil {
		t.Fatalf("pod sleeper Running: %v (%v)", err, last)
	}

	// The test process "dies": its children go (as with Pdeathsig), the shim and the container
	// stay, and the lock is free.
	for _, p := range dead.processes() {
		_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
	}
	for _, p := range dead.processes() {
		p.Stop(time.Second)
	}
	dead.lock.release()
	left, err := takeSnapshot(dead.scope)
	if err != nil {
		t.Fatal(err)
	}
	stale := leftovers(dead.before, left)
	if len(stale) == 0 {
		t.Fatal("the dead node left nothing behind: nothing to recover from")
	}
	t.Logf("the dead node left %d things behind, among them:\n  %s", len(stale), strings.Join(stale[:min(len(stale), 12)], "\n  "))
	if len(left.aspects[aspectProcess]) == 0 {
		t.Errorf("no container or shim outlived the dead node's kubelet and containerd")
	}
	// What the API server knows of it goes too, as with a new control plane.
	zero := int64(0)
	_ = cp.Client.CoreV1().Pods("default").Delete(ctx, "sleeper", metav1.DeleteOptions{GracePeriodSeconds: &zero})
	_ = cp.Client.CoreV1().Nodes().Delete(ctx, dead.Name, metav1.DeleteOptions{})

	next, err := New(ctx, cp, opts)
	if err != nil {
		t.Fatalf("a node after a dead one: %v", err)
	}
	if _, err := os.Stat(deadDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead node's directory %s: %v, want it removed", deadDir, err)
	}
	if err := next.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(StatePath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after a clean Stop: %v, want it removed", StatePath, err)
	}
}

func ptrBool(b bool) *bool { return &b }
