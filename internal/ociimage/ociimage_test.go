package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func testImage() Image {
	return Image{
		Ref:          "ghcr.io/stampede-load/stampede-test:1.2.3",
		OS:           "linux",
		Architecture: "amd64",
		Created:      time.Unix(1700000000, 0),
		CreatedBy:    "test",
		Config: Config{
			User:         "65532:65532",
			Entrypoint:   []string{"/usr/local/bin/app"},
			Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
			WorkingDir:   "/home/nonroot",
			ExposedPorts: []string{"8080/tcp", "9100"},
			Labels:       map[string]string{"org.opencontainers.image.version": "1.2.3", "a": "b"},
		},
		Files: append(StaticBase([]byte("-----BEGIN CERTIFICATE-----\n")),
			File{Path: "/usr/local/bin/app", Mode: 0o755, Data: []byte("\x7fELF pretend")},
			File{Path: "/usr/local/bin/link", Mode: fs.ModeSymlink | 0o777, Target: "app"}),
	}
}

// entry is one file of a tarball.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// readTar returns the entries of a tarball, in order.
func readTar(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s: %v", hdr.Name, err)
		}
		out = append(out, entry{hdr, data})
	}
}

func byName(es []entry) map[string]entry {
	m := make(map[string]entry, len(es))
	for _, e := range es {
		m[e.hdr.Name] = e
	}
	return m
}

func decode(t *testing.T, files map[string]entry, name string, v any) {
	t.Helper()
	e, ok := files[name]
	if !ok {
		t.Fatalf("%s is missing; have %v", name, slices.Sorted(maps.Keys(files)))
	}
	if err := json.Unmarshal(e.data, v); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, e.data)
	}
}

// layout is a tarball read as an OCI layout and as a docker save archive, checked for consistency.
type layout struct {
	files    map[string]entry
	index    index
	manifest manifest
	config   imageConfig
	docker   []dockerManifest
	layer    []byte
}

// readLayout fails the test unless every reference in the tarball is to a blob whose name is its
// sha256 and whose size is as stated, and the docker and OCI views name the same config and layer.
func readLayout(t *testing.T, b []byte) layout {
	t.Helper()
	var l layout
	l.files = byName(readTar(t, b))
	for name, e := range l.files {
		hexDigest, ok := strings.CutPrefix(name, "blobs/sha256/")
		if !ok || hexDigest == "" {
			continue
		}
		if got := Digest(e.data); got != "sha256:"+hexDigest {
			t.Errorf("blob %s has digest %s", name, got)
		}
	}
	blob := func(d descriptor, mediaType string) []byte {
		t.Helper()
		if d.MediaType != mediaType {
			t.Errorf("descriptor %s: media type %q, want %q", d.Digest, d.MediaType, mediaType)
		}
		e, ok := l.files[blobPath(d.Digest)]
		if !ok {
			t.Fatalf("descriptor %s: no blob", d.Digest)
		}
		if int64(len(e.data)) != d.Size {
			t.Errorf("descriptor %s: size %d, blob has %d bytes", d.Digest, d.Size, len(e.data))
		}
		return e.data
	}

	var ociLayout struct{ ImageLayoutVersion string }
	decode(t, l.files, "oci-layout", &ociLayout)
	if ociLayout.ImageLayoutVersion != "1.0.0" {
		t.Errorf("oci-layout version %q", ociLayout.ImageLayoutVersion)
	}
	decode(t, l.files, "index.json", &l.index)
	if l.index.SchemaVersion != 2 || l.index.MediaType != MediaTypeIndex || len(l.index.Manifests) != 1 {
		t.Fatalf("index.json: %+v", l.index)
	}
	if err := json.Unmarshal(blob(l.index.Manifests[0], MediaTypeManifest), &l.manifest); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if l.manifest.SchemaVersion != 2 || l.manifest.MediaType != MediaTypeManifest || len(l.manifest.Layers) != 1 {
		t.Fatalf("manifest: %+v", l.manifest)
	}
	if err := json.Unmarshal(blob(l.manifest.Config, MediaTypeConfig), &l.config); err != nil {
		t.Fatalf("config: %v", err)
	}
	l.layer = blob(l.manifest.Layers[0], MediaTypeLayer)
	if want := []string{Digest(l.layer)}; !slices.Equal(l.config.RootFS.DiffIDs, want) || l.config.RootFS.Type != "layers" {
		t.Errorf("config rootfs %+v, want layers %v (the uncompressed layer's digest)", l.config.RootFS, want)
	}

	decode(t, l.files, "manifest.json", &l.docker)
	if len(l.docker) != 1 {
		t.Fatalf("manifest.json has %d images, want 1", len(l.docker))
	}
	if want := blobPath(l.manifest.Config.Digest); l.docker[0].Config != want {
		t.Errorf("manifest.json Config %q, want %q", l.docker[0].Config, want)
	}
	if want := []string{blobPath(l.manifest.Layers[0].Digest)}; !slices.Equal(l.docker[0].Layers, want) {
		t.Errorf("manifest.json Layers %q, want %q", l.docker[0].Layers, want)
	}
	return l
}

func TestWriteIsConsistent(t *testing.T) {
	t.Parallel()
	img := testImage()
	var buf bytes.Buffer
	d, err := Write(&buf, img)
	if err != nil {
		t.Fatal(err)
	}
	l := readLayout(t, buf.Bytes())

	mf := l.index.Manifests[0]
	if d.Manifest != mf.Digest || d.Config != l.manifest.Config.Digest || d.Layer != l.manifest.Layers[0].Digest {
		t.Errorf("Write returned %+v; the tarball has manifest %s config %s layer %s",
			d, mf.Digest, l.manifest.Config.Digest, l.manifest.Layers[0].Digest)
	}
	wantAnn := map[string]string{
		AnnotationImageName: "ghcr.io/stampede-load/stampede-test:1.2.3",
		AnnotationRefName:   "1.2.3",
	}
	if !maps.Equal(mf.Annotations, wantAnn) {
		t.Errorf("index annotations %v, want %v", mf.Annotations, wantAnn)
	}
	if mf.Platform == nil || *mf.Platform != (platform{Architecture: "amd64", OS: "linux"}) {
		t.Errorf("index platform %+v", mf.Platform)
	}
	if !slices.Equal(l.docker[0].RepoTags, []string{img.Ref}) {
		t.Errorf("manifest.json RepoTags %q, want [%s]", l.docker[0].RepoTags, img.Ref)
	}

	c := l.config
	if c.OS != "linux" || c.Architecture != "amd64" || c.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("config platform/created: %s/%s %s", c.OS, c.Architecture, c.Created)
	}
	if len(c.History) != 1 || c.History[0].CreatedBy != "test" || c.History[0].Created != c.Created {
		t.Errorf("config history %+v: want one entry for the one layer", c.History)
	}
	rc := c.Config
	if rc.User != "65532:65532" || !slices.Equal(rc.Entrypoint, img.Config.Entrypoint) ||
		rc.WorkingDir != "/home/nonroot" || !slices.Equal(rc.Env, img.Config.Env) || !maps.Equal(rc.Labels, img.Config.Labels) {
		t.Errorf("config %+v does not match %+v", rc, img.Config)
	}
	if got := slices.Sorted(maps.Keys(rc.ExposedPorts)); !slices.Equal(got, []string{"8080/tcp", "9100/tcp"}) {
		t.Errorf("exposed ports %v, want 8080/tcp and 9100/tcp", got)
	}

	// The outer tarball: docker save's order, root-owned, one time.
	var names []string
	for _, e := range readTar(t, buf.Bytes()) {
		names = append(names, e.hdr.Name)
		if e.hdr.Uid != 0 || e.hdr.Gid != 0 || !e.hdr.ModTime.Equal(img.Created) {
			t.Errorf("%s: owner %d:%d time %v", e.hdr.Name, e.hdr.Uid, e.hdr.Gid, e.hdr.ModTime)
		}
	}
	if len(names) != 8 || names[0] != "blobs/" || names[1] != "blobs/sha256/" ||
		!slices.Equal(names[5:], []string{"index.json", "manifest.json", "oci-layout"}) {
		t.Errorf("tarball entries %q", names)
	}
}

func TestWriteLayer(t *testing.T) {
	t.Parallel()
	img := testImage()
	var buf bytes.Buffer
	if _, err := Write(&buf, img); err != nil {
		t.Fatal(err)
	}
	layer := readTar(t, readLayout(t, buf.Bytes()).layer)

	type want struct {
		typ      byte
		mode     int64
		uid, gid int
		data     string
	}
	wants := map[string]want{
		"etc/":                              {tar.TypeDir, 0o755, 0, 0, ""},
		"etc/group":                         {tar.TypeReg, 0o644, 0, 0, "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"},
		"etc/ssl/":                          {tar.TypeDir, 0o755, 0, 0, ""}, // added: a parent
		"etc/ssl/certs/ca-certificates.crt": {tar.TypeReg, 0o644, 0, 0, "-----BEGIN CERTIFICATE-----\n"},
		"home/nonroot/":                     {tar.TypeDir, 0o700, 65532, 65532, ""},
		"tmp/":                              {tar.TypeDir, 0o1777, 0, 0, ""},
		"usr/local/bin/":                    {tar.TypeDir, 0o755, 0, 0, ""},
		"usr/local/bin/app":                 {tar.TypeReg, 0o755, 0, 0, "\x7fELF pretend"},
		"usr/local/bin/link":                {tar.TypeSymlink, 0o777, 0, 0, ""},
		"etc/ssl/certs/":                    {tar.TypeDir, 0o755, 0, 0, ""},
		"usr/":                              {tar.TypeDir, 0o755, 0, 0, ""},
		"usr/local/":                        {tar.TypeDir, 0o755, 0, 0, ""},
		"home/":                             {tar.TypeDir, 0o755, 0, 0, ""},
		"root/":                             {tar.TypeDir, 0o700, 0, 0, ""},
		"etc/passwd":                        {tar.TypeReg, 0o644, 0, 0, ""},
	}
	seen := map[string]bool{}
	var names []string
	for _, e := range layer {
		h := e.hdr
		names = append(names, h.Name)
		if strings.HasPrefix(h.Name, "/") || strings.HasPrefix(h.Name, "./") {
			t.Errorf("%s: layer names are relative, without ./", h.Name)
		}
		if dir := path.Dir(strings.TrimSuffix(h.Name, "/")); dir != "." && !seen[dir+"/"] {
			t.Errorf("%s comes before its directory %s/", h.Name, dir)
		}
		seen[h.Name] = true
		if !h.ModTime.Equal(img.Created) || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: time %v, owner names %q:%q; want the image time and numeric owners only", h.Name, h.ModTime, h.Uname, h.Gname)
		}
		w, ok := wants[h.Name]
		if !ok {
			t.Errorf("unexpected layer entry %s", h.Name)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != w.uid || h.Gid != w.gid {
			t.Errorf("%s: type %c mode %o owner %d:%d, want type %c mode %o owner %d:%d",
				h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, w.typ, w.mode, w.uid, w.gid)
		}
		if w.data != "" && string(e.data) != w.data {
			t.Errorf("%s: contents %q, want %q", h.Name, e.data, w.data)
		}
		if h.Typeflag == tar.TypeSymlink && h.Linkname != "app" {
			t.Errorf("%s: link to %q, want app", h.Name, h.Linkname)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("layer entries are not sorted: %q", names)
	}
	if len(names) != len(wants) {
		t.Errorf("layer has %d entries, want %d: %q", len(names), len(wants), names)
	}
}

func TestWriteIsReproducible(t *testing.T) {
	t.Parallel()
	write := func(img Image) ([]byte, Digests) {
		t.Helper()
		var buf bytes.Buffer
		d, err := Write(&buf, img)
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), d
	}
	base, baseD := write(testImage())

	same := map[string]func(*Image){
		"again": func(*Image) {},
		"files in another order": func(img *Image) {
			slices.Reverse(img.Files)
		},
		"labels built in another order": func(img *Image) {
			img.Config.Labels = map[string]string{"a": "b", "org.opencontainers.image.version": "1.2.3"}
		},
		"sub-second created": func(img *Image) { img.Created = img.Created.Add(400 * time.Millisecond) },
	}
	for name, change := range same {
		t.Run(name, func(t *testing.T) {
			img := testImage()
			change(&img)
			if b, d := write(img); !bytes.Equal(b, base) || d != baseD {
				t.Errorf("digests %+v, want %+v", d, baseD)
			}
		})
	}

	different := map[string]struct {
		change func(*Image)
		digest func(Digests) string // the digest that must change
	}{
		"one byte of a file": {
			func(img *Image) { img.Files[len(img.Files)-2].Data = []byte("\x7fELF pretenD") },
			func(d Digests) string { return d.Layer },
		},
		"a mode": {
			func(img *Image) { img.Files[len(img.Files)-2].Mode = 0o750 },
			func(d Digests) string { return d.Layer },
		},
		"created": {
			func(img *Image) { img.Created = img.Created.Add(time.Second) },
			func(d Digests) string { return d.Config },
		},
		"a label": {
			func(img *Image) { img.Config.Labels["a"] = "c" },
			func(d Digests) string { return d.Config },
		},
		"the tag (only the names in index.json and manifest.json)": {
			func(img *Image) { img.Ref = "ghcr.io/stampede-load/stampede-test:1.2.4" },
			func(d Digests) string { return "" },
		},
	}
	for name, tt := range different {
		t.Run(name, func(t *testing.T) {
			img := testImage()
			tt.change(&img)
			b, d := write(img)
			if bytes.Equal(b, base) {
				t.Error("the tarball did not change")
			}
			if got := tt.digest(d); got != "" && got == tt.digest(baseD) {
				t.Errorf("digest unchanged: %s", got)
			}
		})
	}
}

func TestWriteRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]func(*Image){
		"no tag":              func(img *Image) { img.Ref = "ghcr.io/stampede-load/x" },
		"registry port only":  func(img *Image) { img.Ref = "localhost:5000/x" },
		"upper case name":     func(img *Image) { img.Ref = "ghcr.io/Stampede/x:1" },
		"bad tag":             func(img *Image) { img.Ref = "x:-1" },
		"no architecture":     func(img *Image) { img.Architecture = "" },
		"relative path":       func(img *Image) { img.Files[0].Path = "etc" },
		"unclean path":        func(img *Image) { img.Files[0].Path = "/etc/../etc" },
		"root":                func(img *Image) { img.Files[0].Path = "/" },
		"duplicate":           func(img *Image) { img.Files = append(img.Files, img.Files[1]) },
		"file below a file":   func(img *Image) { img.Files = append(img.Files, File{Path: "/etc/passwd/x"}) },
		"device":              func(img *Image) { img.Files[1].Mode |= fs.ModeDevice },
		"negative owner":      func(img *Image) { img.Files[1].UID = -1 },
		"port without number": func(img *Image) { img.Config.ExposedPorts = []string{"http/tcp"} },
		"unknown protocol":    func(img *Image) { img.Config.ExposedPorts = []string{"80/icmp"} },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			img := testImage()
			change(&img)
			var buf bytes.Buffer
			if _, err := Write(&buf, img); !errors.Is(err, ErrInvalid) {
				t.Errorf("Write: %v, want ErrInvalid", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes of an invalid image", buf.Len())
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	t.Parallel()
	tests := []struct{ ref, full, tag string }{
		{"ghcr.io/stampede-load/stampede-master:0.1.0", "ghcr.io/stampede-load/stampede-master:0.1.0", "0.1.0"},
		{"stampede-master:dev", "docker.io/library/stampede-master:dev", "dev"},
		{"stampede/master:v1_2", "docker.io/stampede/master:v1_2", "v1_2"},
		{"localhost:5000/stampede-master:abc123-dirty", "localhost:5000/stampede-master:abc123-dirty", "abc123-dirty"},
		{"localhost/x:1", "localhost/x:1", "1"},
		{"registry.example.com:443/a/b/c:latest", "registry.example.com:443/a/b/c:latest", "latest"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			t.Parallel()
			r, err := parseRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if r.full != tt.full || r.tag != tt.tag {
				t.Errorf("got %s tag %s, want %s tag %s", r.full, r.tag, tt.full, tt.tag)
			}
		})
	}
}

func TestStaticBase(t *testing.T) {
	t.Parallel()
	files := map[string]File{}
	for _, f := range StaticBase([]byte("certs")) {
		files[f.Path] = f
	}
	passwd := string(files["/etc/passwd"].Data)
	if !strings.Contains(passwd, "\nnonroot:x:65532:65532:nonroot:/home/nonroot:") {
		t.Errorf("/etc/passwd does not map 65532 to nonroot with home /home/nonroot:\n%s", passwd)
	}
	if !strings.Contains(string(files["/etc/group"].Data), "\nnonroot:x:65532:") {
		t.Errorf("/etc/group has no nonroot group 65532")
	}
	if h := files["/home/nonroot"]; !h.Mode.IsDir() || h.UID != Nonroot || h.GID != Nonroot {
		t.Errorf("/home/nonroot: %+v, want a directory owned by %d", h, Nonroot)
	}
	if tmp := files["/tmp"]; tmp.Mode != fs.ModeDir|fs.ModeSticky|0o777 {
		t.Errorf("/tmp mode %v, want drwxrwxrwt", tmp.Mode)
	}
	if string(files["/etc/ssl/certs/ca-certificates.crt"].Data) != "certs" {
		t.Error("the CA bundle is not at /etc/ssl/certs/ca-certificates.crt")
	}
	for _, f := range StaticBase(nil) {
		if strings.HasPrefix(f.Path, "/etc/ssl") {
			t.Errorf("StaticBase(nil) has %s", f.Path)
		}
	}
}

func TestCheckStaticRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]func(t *testing.T) []byte{
		"not ELF": func(*testing.T) []byte { return []byte("#!/bin/sh\necho hi\n") },
		"dynamically linked": func(t *testing.T) []byte {
			// Debian's coreutils are dynamically linked: they need /lib64/ld-linux-x86-64.so.2.
			b, err := os.ReadFile("/bin/true")
			if err != nil {
				t.Skip("no /bin/true:", err)
			}
			if !bytes.HasPrefix(b, []byte("\x7fELF")) {
				t.Skip("/bin/true is not ELF")
			}
			return b
		},
	}
	for name, input := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := CheckStatic(bytes.NewReader(input(t)), runtime.GOARCH)
			if !errors.Is(err, ErrNotStatic) {
				t.Errorf("CheckStatic: %v, want ErrNotStatic", err)
			}
		})
	}
}
