package k6run

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// echoFilesCommand makes the test binary run echoFiles (see TestMain).
const echoFilesCommand = "echo-files"

// echoFiles is the child of TestPassFiles: it opens the files that arg names, as the output does,
// copies what arrives on the second to the first and writes "eof" when the second ends.
func echoFiles(arg string) int {
	out, in, err := openFiles(arg)
	if err == nil && in == nil {
		err = errors.New("no second file")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := io.Copy(out, in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := io.WriteString(out, "eof"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// passFiles hands two pipes to a child process, and openFiles opens them there from the argument
// passFiles returned: what goes down the liveness pipe comes back on the stats pipe, and closing the
// liveness pipe reaches the child as end of file, which is how a child learns its parent is gone.
func TestPassFiles(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sr, sw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	lr, lw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Close()

	cmd := exec.Command(exe)
	cmd.SysProcAttr = sysProcAttr()
	arg := passFiles(cmd, sw, lr)
	if runtime.GOOS != "windows" && arg != "3,4" {
		t.Errorf("passFiles = %q, want descriptors \"3,4\"", arg)
	}
	cmd.Args = append(cmd.Args, echoFilesCommand, arg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sw.Close()
	lr.Close()
	// A guard against a child that never answers, where pipes have deadlines (not on Windows).
	_ = sr.SetReadDeadline(time.Now().Add(time.Minute))

	if _, err := lw.Write([]byte("beat")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(sr, got); err != nil || string(got) != "beat" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // its stderr is complete
		t.Fatalf("read %q (%v) back from the child, want \"beat\"; its stderr: %s", got, err, stderr.String())
	}
	lw.Close()
	rest, err := io.ReadAll(sr)
	if err != nil || string(rest) != "eof" {
		t.Errorf("after the liveness pipe closed the child wrote %q (%v), want \"eof\"", rest, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v; its stderr: %s", err, stderr.String())
	}
}

// openFiles refuses an argument that names no file, a standard stream, one file twice or more than
// two files, before it opens anything.
func TestOpenFilesRefuses(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"", "x", "3,", ",4", "2,4", "0", "3,3", "3,4,5", "-3", "3.0"} {
		t.Run(arg, func(t *testing.T) {
			if s, l, err := openFiles(arg); err == nil || s != nil || l != nil {
				t.Errorf("openFiles(%q) = %v, %v, %v; want an error and no file", arg, s, l, err)
			}
		})
	}
}
