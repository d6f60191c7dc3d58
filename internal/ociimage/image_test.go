package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// imageTest starts a test that builds binaries and runs them from an image: it needs linux and the
// go command and runs in parallel. It has no time limit of its own: a cold static build of the
// master on a busy machine takes what it takes, and go test's -timeout bounds it.
func imageTest(t *testing.T) (goTool string, ctx context.Context) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("runs a linux binary extracted from the image")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command:", err)
	}
	t.Parallel()
	return goTool, t.Context()
}

// TestImageOfRealBinary builds stampede-target and the stampede-image command, makes an image the
// way `make images` does, and checks it from the outside: the tarball is consistent, the same
// inputs give the same bytes, the extracted layer has what the config says and its entrypoint runs,
// and skopeo (when installed) reads it as both oci-archive: and docker-archive:.
func TestImageOfRealBinary(t *testing.T) {
	goTool, ctx := imageTest(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "bin", "stampede-target")
	tool := filepath.Join(dir, "stampede-image")
	goBuild(ctx, t, goTool, target, "github.com/stampede-load/stampede/examples/target")
	goBuild(ctx, t, goTool, tool, "github.com/stampede-load/stampede/internal/ociimage/cmd/stampede-image")

	certs := filepath.Join(dir, "ca.crt")
	certPEM := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	if err := os.WriteFile(certs, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	// An empty PATH: the image is built by Go code alone, with no umoci, podman, docker or tar.
	emptyPath := t.TempDir()
	makeImage := func(out string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, tool, "--binary", target, "--out", out,
			"--ref", "ghcr.io/stampede-load/stampede-target:test", "--arch", runtime.GOARCH,
			"--port", "8080/tcp", "--env", "STAMPEDE_TARGET_LISTEN=0.0.0.0:8080",
			"--version", "v9.9.9", "--revision", "0123abc", "--ca-certs", certs)
		cmd.Env = []string{"PATH=" + emptyPath, "SOURCE_DATE_EPOCH=1700000000"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil {
			t.Fatalf("stampede-image: %v\n%s", err, stderr.Bytes())
		}
		return string(stdout)
	}
	tarball := filepath.Join(dir, "stampede-target.tar")
	printed := makeImage(tarball)
	data, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	l := readLayout(t, data)
	manifestDigest := l.index.Manifests[0].Digest
	if !strings.Contains(printed, "manifest "+manifestDigest) || !strings.Contains(printed, "config "+l.manifest.Config.Digest) {
		t.Errorf("stampede-image printed %q; the image has manifest %s and config %s", printed, manifestDigest, l.manifest.Config.Digest)
	}

	t.Run("reproducible", func(t *testing.T) {
		again := filepath.Join(dir, "again.tar")
		makeImage(again)
		b, err := os.ReadFile(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, data) {
			t.Errorf("a second image of the same binary differs: %s, then %s", Digest(data), Digest(b))
		}
	})

	t.Run("config", func(t *testing.T) {
		c := l.config
		rc := c.Config
		if rc.User != "65532:65532" {
			t.Errorf("user %q, want the non-root 65532:65532", rc.User)
		}
		if !slices.Equal(rc.Entrypoint, []string{"/usr/local/bin/stampede-target"}) {
			t.Errorf("entrypoint %q", rc.Entrypoint)
		}
		if _, ok := rc.ExposedPorts["8080/tcp"]; !ok || len(rc.ExposedPorts) != 1 {
			t.Errorf("exposed ports %v, want 8080/tcp", rc.ExposedPorts)
		}
		if !slices.Contains(rc.Env, "STAMPEDE_TARGET_LISTEN=0.0.0.0:8080") || !strings.HasPrefix(rc.Env[0], "PATH=") {
			t.Errorf("env %q", rc.Env)
		}
		wantLabels := map[string]string{
			"org.opencontainers.image.title":    "stampede-target",
			"org.opencontainers.image.version":  "v9.9.9",
			"org.opencontainers.image.revision": "0123abc",
			"org.opencontainers.image.source":   "https://github.com/stampede-load/stampede",
		}
		for k, v := range wantLabels {
			if rc.Labels[k] != v {
				t.Errorf("label %s = %q, want %q", k, rc.Labels[k], v)
			}
		}
		if c.OS != "linux" || c.Architecture != runtime.GOARCH || c.Created != "2023-11-14T22:13:20Z" {
			t.Errorf("platform %s/%s created %s", c.OS, c.Architecture, c.Created)
		}
	})

	root := t.TempDir()
	headers := extract(t, l.layer, root)

	t.Run("layer", func(t *testing.T) {
		bin := headers["usr/local/bin/stampede-target"]
		if bin == nil || bin.Typeflag != tar.TypeReg || bin.Mode != 0o755 || bin.Uid != 0 {
			t.Fatalf("usr/local/bin/stampede-target: %+v, want a root-owned 0755 file", bin)
		}
		fi, err := os.Stat(filepath.Join(root, "usr/local/bin/stampede-target"))
		if err != nil || fi.Mode() != 0o755 {
			t.Errorf("extracted binary: %v %v, want -rwxr-xr-x", fi.Mode(), err)
		}
		if tmp := headers["tmp/"]; tmp == nil || tmp.Mode != 0o1777 {
			t.Errorf("tmp/: %+v, want mode 1777", tmp)
		}
		if home := headers["home/nonroot/"]; home == nil || home.Uid != Nonroot || home.Gid != Nonroot {
			t.Errorf("home/nonroot/: %+v, want a directory owned by 65532", home)
		}
		if b, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")); !bytes.Equal(b, certPEM) {
			t.Errorf("CA bundle: %q %v, want the --ca-certs file", b, err)
		}
		passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
		if err != nil {
			t.Fatal(err)
		}
		user, _, _ := strings.Cut(l.config.Config.User, ":")
		found := false
		for _, line := range strings.Split(string(passwd), "\n") {
			f := strings.Split(line, ":")
			if len(f) == 7 && f[2] == user {
				found = true
				if f[0] != "nonroot" || f[3] != user || f[5] != "/home/nonroot" {
					t.Errorf("/etc/passwd maps %s to %q", user, line)
				}
			}
		}
		if !found {
			t.Errorf("/etc/passwd has no user %s:\n%s", user, passwd)
		}
	})

	t.Run("entrypoint runs", func(t *testing.T) {
		exe := filepath.Join(root, l.config.Config.Entrypoint[0])
		f, err := os.Open(exe)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := CheckStatic(f, runtime.GOARCH); err != nil {
			t.Errorf("the entrypoint would not run in an image holding nothing else: %v", err)
		}
		cmd := exec.CommandContext(ctx, exe, "--help")
		cmd.Env = l.config.Config.Env
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s --help: %v\n%s", exe, err, out)
		}
		if !strings.Contains(string(out), "Usage of stampede-target") || !strings.Contains(string(out), "-listen") {
			t.Errorf("%s --help printed:\n%s", exe, out)
		}
	})

	t.Run("skopeo", func(t *testing.T) {
		if _, err := exec.LookPath("skopeo"); err != nil {
			t.Skip("skopeo is not installed (Debian: apt-get install skopeo)")
		}
		skopeo := func(t *testing.T, args ...string) []byte {
			t.Helper()
			cmd := exec.CommandContext(ctx, "skopeo", args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
			}
			return out
		}
		for _, transport := range []string{"oci-archive:", "docker-archive:"} {
			t.Run(strings.TrimSuffix(transport, ":"), func(t *testing.T) {
				var info struct {
					Digest, Architecture, Os string
					Layers                   []string
				}
				if err := json.Unmarshal(skopeo(t, "inspect", transport+tarball), &info); err != nil {
					t.Fatal(err)
				}
				if info.Architecture != runtime.GOARCH || info.Os != "linux" ||
					!slices.Equal(info.Layers, []string{l.manifest.Layers[0].Digest}) {
					t.Errorf("skopeo inspect: %+v", info)
				}
				// The docker archive has no manifest of its own: skopeo makes one up.
				if transport == "oci-archive:" && info.Digest != manifestDigest {
					t.Errorf("skopeo sees manifest %s, index.json names %s", info.Digest, manifestDigest)
				}
				var cfg imageConfig
				if err := json.Unmarshal(skopeo(t, "inspect", "--config", transport+tarball), &cfg); err != nil {
					t.Fatal(err)
				}
				if cfg.Config.User != "65532:65532" {
					t.Errorf("skopeo reads user %q", cfg.Config.User)
				}
				copied := filepath.Join(t.TempDir(), "dir")
				skopeo(t, "copy", "--insecure-policy", "--quiet", transport+tarball, "dir:"+copied)
				if _, err := os.Stat(filepath.Join(copied, "manifest.json")); err != nil {
					t.Errorf("skopeo copy wrote no manifest: %v", err)
				}
			})
		}
		// The tag in index.json selects the image.
		skopeo(t, "inspect", "--raw", "oci-archive:"+tarball+":test")
	})
}

func goBuild(ctx context.Context, t *testing.T, goTool, out, pkg string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
}

// extract unpacks a layer below root and returns its headers by name.
func extract(t *testing.T, layer []byte, root string) map[string]*tar.Header {
	t.Helper()
	headers := map[string]*tar.Header{}
	for _, e := range readTar(t, layer) {
		h := e.hdr
		headers[h.Name] = h
		if !filepath.IsLocal(h.Name) {
			t.Fatalf("layer entry %q escapes the root", h.Name)
		}
		p := filepath.Join(root, h.Name)
		mode := fs.FileMode(h.Mode).Perm()
		var err error
		switch h.Typeflag {
		case tar.TypeDir:
			// Owner-writable while extracting; the test owns no other uid.
			err = os.MkdirAll(p, mode|0o700)
		case tar.TypeReg:
			if err = os.WriteFile(p, e.data, 0o600); err == nil {
				err = os.Chmod(p, mode)
			}
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, p)
		default:
			t.Fatalf("layer entry %s has type %c", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return headers
}

// TestImagesOfMasterAndWorker makes the master's and the worker's images as `make images` does
// (static, -trimpath) and runs each extracted entrypoint with --help as the image's user would: the
// shipped binaries, not only the demo target's, start from an image that holds nothing else.
func TestImagesOfMasterAndWorker(t *testing.T) {
	goTool, ctx := imageTest(t)
	dir := t.TempDir()
	tool := filepath.Join(dir, "stampede-image")
	goBuild(ctx, t, goTool, tool, "github.com/stampede-load/stampede/internal/ociimage/cmd/stampede-image")
	for _, tc := range []struct{ name, pkg, port string }{
		{"stampede-master", "github.com/stampede-load/stampede/cmd/master", "8089/tcp"},
		{"stampede-worker", "github.com/stampede-load/stampede/cmd/worker", "9100/tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := filepath.Join(dir, "bin", tc.name)
			goBuild(ctx, t, goTool, bin, tc.pkg)
			tarball := filepath.Join(dir, tc.name+".tar")
			cmd := exec.CommandContext(ctx, tool, "--binary", bin, "--out", tarball,
				"--ref", "ghcr.io/stampede-load/"+tc.name+":test", "--arch", runtime.GOARCH, "--port", tc.port)
			cmd.Env = []string{"PATH=" + t.TempDir(), "SOURCE_DATE_EPOCH=1700000000"}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("stampede-image: %v\n%s", err, out)
			}
			data, err := os.ReadFile(tarball)
			if err != nil {
				t.Fatal(err)
			}
			l := readLayout(t, data)
			if l.config.Config.User != "65532:65532" {
				t.Errorf("user %q, want the non-root 65532:65532", l.config.Config.User)
			}
			root := t.TempDir()
			headers := extract(t, l.layer, root)
			if h := headers["usr/local/bin/"+tc.name]; h == nil || h.Mode != 0o755 {
				t.Fatalf("usr/local/bin/%s: %+v, want a 0755 file", tc.name, h)
			}
			help := exec.CommandContext(ctx, filepath.Join(root, l.config.Config.Entrypoint[0]), "--help")
			help.Env, help.Dir = l.config.Config.Env, root
			out, err := help.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Usage of "+tc.name) {
				t.Fatalf("%s --help: %v\n%s", tc.name, err, out)
			}
		})
	}
}
