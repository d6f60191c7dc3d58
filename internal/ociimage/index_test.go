package ociimage

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// indexImages are the images of one program for linux/amd64 and linux/arm64.
func indexImages() []Image {
	amd, arm := testImage(), testImage()
	arm.Architecture = "arm64"
	arm.Files = slices.Clone(arm.Files)
	arm.Files[len(arm.Files)-2] = File{Path: "/usr/local/bin/app", Mode: 0o755, Data: []byte("\x7fELF arm64")}
	return []Image{amd, arm}
}

func writeIndex(t *testing.T, imgs []Image) ([]byte, IndexDigests) {
	t.Helper()
	var buf bytes.Buffer
	d, err := WriteIndex(&buf, "ghcr.io/stampede-load/stampede-test:1.2.3", imgs)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), d
}

func TestWriteIndex(t *testing.T) {
	t.Parallel()
	imgs := indexImages()
	b, d := writeIndex(t, imgs)
	files := byName(readTar(t, b))
	if _, ok := files["manifest.json"]; ok {
		t.Error("a multi-platform tarball has a manifest.json, which can name one platform only")
	}
	var top index
	decode(t, files, "index.json", &top)
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != MediaTypeIndex || top.Manifests[0].Digest != d.Index {
		t.Fatalf("index.json %+v: want one image index, %s", top, d.Index)
	}
	wantAnn := map[string]string{AnnotationImageName: "ghcr.io/stampede-load/stampede-test:1.2.3", AnnotationRefName: "1.2.3"}
	if got := top.Manifests[0].Annotations; len(got) != 2 || got[AnnotationImageName] != wantAnn[AnnotationImageName] || got[AnnotationRefName] != "1.2.3" {
		t.Errorf("index.json annotations %v, want %v", got, wantAnn)
	}
	var list index
	decode(t, files, blobPath(d.Index), &list)
	if len(list.Manifests) != 2 {
		t.Fatalf("image index %+v: want two manifests", list)
	}
	for i, m := range list.Manifests {
		// Each platform's manifest is byte for byte what Write makes of that image alone, so the
		// one-platform tarballs of `make images` hold the same manifests as the index.
		var one bytes.Buffer
		single, err := Write(&one, imgs[i])
		if err != nil {
			t.Fatal(err)
		}
		if m.Digest != single.Manifest || d.Images[i] != single {
			t.Errorf("%s: manifest %s, digests %+v; Write of the image alone gives %+v", imgs[i].Architecture, m.Digest, d.Images[i], single)
		}
		if m.MediaType != MediaTypeManifest || m.Platform == nil || m.Platform.Architecture != imgs[i].Architecture || m.Platform.OS != "linux" {
			t.Errorf("index entry %d: %+v", i, m)
		}
		for _, blob := range []string{single.Manifest, single.Config, single.Layer} {
			if e, ok := files[blobPath(blob)]; !ok || Digest(e.data) != blob {
				t.Errorf("%s: blob %s is missing or wrong", imgs[i].Architecture, blob)
			}
		}
	}

	again, _ := writeIndex(t, indexImages())
	if !bytes.Equal(again, b) {
		t.Error("the same images give other bytes")
	}
}

func TestWriteIndexRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]func([]Image) []Image{
		"no image":         func([]Image) []Image { return nil },
		"platform twice":   func(imgs []Image) []Image { return []Image{imgs[0], imgs[0]} },
		"different times":  func(imgs []Image) []Image { imgs[1].Created = imgs[1].Created.Add(time.Second); return imgs },
		"an invalid image": func(imgs []Image) []Image { imgs[1].Architecture = ""; return imgs },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if _, err := WriteIndex(&buf, "ghcr.io/stampede-load/x:1", change(indexImages())); !errors.Is(err, ErrInvalid) {
				t.Errorf("WriteIndex: %v, want ErrInvalid", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes", buf.Len())
			}
		})
	}
}

// TestIndexWithSkopeo reads a multi-platform tarball as skopeo does: each platform by itself, and
// all of them with copy --all.
func TestIndexWithSkopeo(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo is not installed (Debian: apt-get install skopeo)")
	}
	t.Parallel()
	b, d := writeIndex(t, indexImages())
	tarball := filepath.Join(t.TempDir(), "index.tar")
	if err := os.WriteFile(tarball, b, 0o644); err != nil {
		t.Fatal(err)
	}
	skopeo := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "skopeo", args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return out
	}
	for i, arch := range []string{"amd64", "arm64"} {
		var info struct {
			Digest, Architecture string
			Layers               []string
		}
		if err := json.Unmarshal(skopeo("inspect", "--override-os", "linux", "--override-arch", arch, "oci-archive:"+tarball), &info); err != nil {
			t.Fatal(err)
		}
		// The digest is the tag's: the index. The layers are the platform's.
		if info.Architecture != arch || info.Digest != d.Index || !slices.Equal(info.Layers, []string{d.Images[i].Layer}) {
			t.Errorf("skopeo inspect for %s: %+v; want index %s and layer %s", arch, info, d.Index, d.Images[i].Layer)
		}
	}
	// copy --all compresses the layers on the way, so it is the platforms that must arrive.
	copied := filepath.Join(t.TempDir(), "oci")
	skopeo("copy", "--all", "--insecure-policy", "--quiet", "oci-archive:"+tarball+":1.2.3", "oci:"+copied+":copy")
	var top, list index
	for _, step := range []struct {
		file string
		v    *index
	}{{"index.json", &top}, {"", &list}} {
		file := step.file
		if file == "" {
			if len(top.Manifests) != 1 {
				t.Fatalf("the copy's index.json: %+v", top)
			}
			file = blobPath(top.Manifests[0].Digest)
		}
		b, err := os.ReadFile(filepath.Join(copied, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, step.v); err != nil {
			t.Fatal(err)
		}
	}
	var archs []string
	for _, m := range list.Manifests {
		if m.Platform != nil {
			archs = append(archs, m.Platform.OS+"/"+m.Platform.Architecture)
		}
	}
	if !slices.Equal(archs, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("skopeo copy --all kept the platforms %v, want linux/amd64 and linux/arm64", archs)
	}
}
