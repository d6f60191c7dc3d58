// Command stampede-image puts a static binary into a container image tarball, without a container
// engine (`make images` runs it; see docs/images.md):
//
//	stampede-image --binary dist/images/linux-amd64/stampede-target \
//		--ref ghcr.io/stampede-load/stampede-target:0.1.0 --port 8080/tcp \
//		--out dist/images/stampede-target.tar
//
// The binary goes to /usr/local/bin/<its name>, the image's entrypoint, and runs as 65532:65532;
// --add puts more binaries beside it (the health probe). Given one --binary, the tarball holds one
// image and loads with docker load, ctr images import, kind load image-archive and skopeo. Given
// one per architecture (--binary amd64=PATH --binary arm64=PATH, and --add ARCH=PATH likewise), it
// holds an image index of them all: a multi-platform image. It prints the tarball's path, reference
// and digests. Every time in the image is --epoch (default $SOURCE_DATE_EPOCH, else 0), so the
// same binaries give the same digests.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/atomicfile"
	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/ociimage"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stampede-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ref := fs.String("ref", "", "the image reference, NAME:TAG (required)")
	out := fs.String("out", "", "the tarball to write (required)")
	goos := fs.String("os", "linux", "the image's OS")
	arch := fs.String("arch", "amd64", "the image's architecture, as GOARCH, for a --binary without ARCH=")
	variant := fs.String("variant", "", `the architecture variant, e.g. "v7" for arm`)
	caCerts := fs.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", `the CA bundle to include ("" for none)`)
	version := fs.String("version", "", "the org.opencontainers.image.version label")
	revision := fs.String("revision", "", "the org.opencontainers.image.revision label (a commit)")
	source := fs.String("source", "https://github.com/stampede-load/stampede", "the org.opencontainers.image.source label")
	epoch, err := cli.EpochFlag(fs, "the image's time", os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "stampede-image:", err)
		return 2
	}
	var ports, env, binaries, adds cli.Strings
	fs.Var(&binaries, "binary", "[ARCH=]PATH: the static linux binary, the entrypoint (required; once per architecture)")
	fs.Var(&adds, "add", "[ARCH=]PATH: another static binary for /usr/local/bin (repeatable)")
	fs.Var(&ports, "port", "a port the image exposes, e.g. 8080/tcp (repeatable)")
	fs.Var(&env, "env", "KEY=VALUE in the image's environment, after PATH (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(binaries) == 0 || *ref == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "stampede-image: --binary, --ref and --out are required, and nothing else")
		return 2
	}
	byArch, err := perArch(binaries, adds, *arch)
	if err != nil {
		fmt.Fprintln(stderr, "stampede-image:", err)
		return 2
	}
	var imgs []ociimage.Image
	for _, a := range byArch {
		files, err := layerFiles(a.binaries, *caCerts, a.arch)
		if err != nil {
			fmt.Fprintln(stderr, "stampede-image:", err)
			return 1
		}
		name := filepath.Base(a.binaries[0])
		img := ociimage.Image{
			Ref:          *ref,
			OS:           *goos,
			Architecture: a.arch,
			Variant:      *variant,
			Created:      time.Unix(*epoch, 0),
			CreatedBy:    "stampede-image: /usr/local/bin/" + name + " on a static base",
			Files:        files,
			Config: ociimage.Config{
				User:         fmt.Sprintf("%d:%d", ociimage.Nonroot, ociimage.Nonroot),
				Entrypoint:   []string{"/usr/local/bin/" + name},
				Env:          append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...),
				WorkingDir:   "/home/nonroot",
				ExposedPorts: ports,
				Labels:       map[string]string{"org.opencontainers.image.title": name},
			},
		}
		for k, v := range map[string]string{"source": *source, "version": *version, "revision": *revision} {
			if v != "" {
				img.Config.Labels["org.opencontainers.image."+k] = v
			}
		}
		imgs = append(imgs, img)
	}
	if len(imgs) == 1 {
		d, err := writeFile(*out, func(w io.Writer) (ociimage.Digests, error) { return ociimage.Write(w, imgs[0]) })
		if err != nil {
			fmt.Fprintln(stderr, "stampede-image:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s %s manifest %s config %s\n", *out, *ref, d.Manifest, d.Config)
		return 0
	}
	var d ociimage.IndexDigests
	if _, err := writeFile(*out, func(w io.Writer) (ociimage.Digests, error) {
		var err error
		d, err = ociimage.WriteIndex(w, *ref, imgs)
		return ociimage.Digests{}, err
	}); err != nil {
		fmt.Fprintln(stderr, "stampede-image:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s %s index %s", *out, *ref, d.Index)
	for i, img := range imgs {
		fmt.Fprintf(stdout, " %s/%s manifest %s", img.OS, img.Architecture, d.Images[i].Manifest)
	}
	fmt.Fprintln(stdout)
	return 0
}

// archBinaries are the binaries of one architecture's image, the entrypoint first.
type archBinaries struct {
	arch     string
	binaries []string
}

// perArch groups [ARCH=]PATH values by architecture, in the order the --binary flags name them;
// a value without ARCH= is for defaultArch.
func perArch(binaries, adds []string, defaultArch string) ([]archBinaries, error) {
	split := func(v string) (string, string) {
		if a, p, ok := strings.Cut(v, "="); ok {
			return a, p
		}
		return defaultArch, v
	}
	var out []archBinaries
	index := map[string]int{}
	for _, b := range binaries {
		a, p := split(b)
		if _, dup := index[a]; dup {
			return nil, fmt.Errorf("--binary: two binaries for %s", a)
		}
		index[a] = len(out)
		out = append(out, archBinaries{arch: a, binaries: []string{p}})
	}
	for _, b := range adds {
		a, p := split(b)
		i, ok := index[a]
		if !ok {
			return nil, fmt.Errorf("--add %s: no --binary for %s", b, a)
		}
		out[i].binaries = append(out[i].binaries, p)
	}
	return out, nil
}

// layerFiles are the image's contents: the binaries in /usr/local/bin on the static base.
func layerFiles(binaries []string, caCerts, arch string) ([]ociimage.File, error) {
	var certs []byte
	if caCerts != "" {
		var err error
		if certs, err = os.ReadFile(caCerts); err != nil {
			return nil, fmt.Errorf("CA certificates (--ca-certs; Debian: apt-get install ca-certificates): %w", err)
		}
	}
	files := ociimage.StaticBase(certs)
	for _, b := range binaries {
		data, err := os.ReadFile(b)
		if err != nil {
			return nil, err
		}
		if err := ociimage.CheckStatic(bytes.NewReader(data), arch); err != nil {
			return nil, fmt.Errorf("%s: %w", b, err)
		}
		files = append(files, ociimage.File{Path: "/usr/local/bin/" + filepath.Base(b), Mode: 0o755, Data: data})
	}
	return files, nil
}

// writeFile writes the tarball whole, so a failed run leaves no partial image.
func writeFile(path string, write func(io.Writer) (ociimage.Digests, error)) (ociimage.Digests, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return ociimage.Digests{}, err
	}
	var d ociimage.Digests
	err := atomicfile.Write(path, func(w io.Writer) (err error) { d, err = write(w); return err })
	return d, err
}
