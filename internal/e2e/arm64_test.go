//go:build linux

package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The linux/arm64 binaries run a short swarm for real under qemu-user: a master with one local
// worker and a stampede-worker, each with its own k6 child, count exactly what the demo target
// served.
//
// qemu runs a static arm64 binary directly, and os.Executable names that binary (qemu answers
// /proc/self/exe with the emulated program), but without binfmt_misc the kernel cannot start it:
// re-executing it for a k6 child fails with "exec format error". So each binary gets --k6-binary, a
// script that runs it under qemu again; with binfmt_misc the script works just the same.
func TestLinuxArm64UnderQemu(t *testing.T) {
	if runtime.GOOS == "linux" && runtime.GOARCH == "arm64" {
		t.Skip("the host is linux/arm64: every other end-to-end test runs these binaries natively")
	}
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		if os.Geteuid() != 0 {
			t.Skip("qemu-aarch64-static is missing: apt-get install qemu-user-static (make test installs it when run as root)")
		}
		t.Fatalf("qemu-aarch64-static is missing (%v): make debian-deps installs it", err)
	}
	t.Parallel()
	dir := t.TempDir()
	argv := map[string][]string{}
	for _, name := range []string{"master", "worker"} {
		exe := filepath.Join(dir, "stampede-"+name)
		built := time.Now()
		// No deadline: under a loaded machine a cold cross build takes what it takes.
		build := exec.Command("go", "build", "-trimpath", "-o", exe, "./cmd/"+name)
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building linux/arm64 stampede-%s: %v\n%s", name, err, out)
		}
		t.Logf("built linux/arm64 stampede-%s in %s", name, time.Since(built).Round(100*time.Millisecond))
		if m := machine(t, exe); m != elf.EM_AARCH64 {
			t.Fatalf("stampede-%s is built for %s, want %s", name, m, elf.EM_AARCH64)
		}
		wrapper := filepath.Join(dir, "k6-"+name)
		script := "#!/bin/sh\nexec " + shellQuote(qemu) + " " + shellQuote(exe) + ` "$@"` + "\n"
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		argv[name] = []string{qemu, exe, "--k6-binary", wrapper}
	}

	tg := startTarget(t)
	addr := freeAddr(t)
	started := time.Now()
	cmd, out, errb, sum := masterVia(t, argv["master"], nil, "-f", "examples/quickstart.js", "--headless",
		"-u", "4", "-r", "4", "-t", "3s", "--local-workers", "1", "--expect-workers", "2",
		"--master-bind", addr, "-e", "TARGET="+tg.URL)
	workerVia(t, argv["worker"], addr)
	r := wait(t, cmd, out, errb, sum, 5*time.Minute)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d, summary %v", r.code, r.summary != nil)
	}
	s := r.summary
	got := tg.stats(t).Total
	t.Logf("the arm64 swarm ran in %s: target %d, master %d requests", time.Since(started).Round(100*time.Millisecond), got, s.Totals.Requests)
	var perWorker uint64
	for _, w := range s.Workers {
		if w.Requests == 0 {
			t.Errorf("worker %d sent no requests", w.Index)
		}
		perWorker += w.Requests
	}
	if len(s.Workers) != 2 {
		t.Errorf("%d workers in the run, want 2 (the local one and stampede-worker)", len(s.Workers))
	}
	if got == 0 || s.Totals.Requests != got || perWorker != got {
		t.Errorf("target counted %d, master total %d, sum of workers %d: want all equal and > 0", got, s.Totals.Requests, perWorker)
	}
}

// machine reads the architecture an ELF binary is built for.
func machine(t *testing.T, path string) elf.Machine {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Machine
}

// shellQuote quotes s for sh as one word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
