// Package ociimage writes container images without a container engine: one image of one layer, as
// a tarball that is at the same time an OCI image layout (oci-layout, index.json, blobs/sha256/...)
// and a `docker save` archive (manifest.json pointing at the same blobs). That dual format is what
// Docker 25 and later write, so docker load, ctr images import, kind load image-archive and skopeo
// (oci-archive: and docker-archive:) all read it.
//
//	d, err := ociimage.Write(f, ociimage.Image{
//		Ref:          "ghcr.io/stampede-load/stampede-target:0.1.0",
//		OS:           "linux",
//		Architecture: "amd64",
//		Created:      time.Unix(epoch, 0),
//		Config:       ociimage.Config{User: "65532:65532", Entrypoint: []string{"/usr/local/bin/stampede-target"}},
//		Files:        append(ociimage.StaticBase(caCerts), binary),
//	})
//
// The output is a function of the Image alone: entries are sorted, owners numeric, every time is
// Image.Created and the layer is an uncompressed tar (as docker save writes it), so the same Image
// gives the same bytes and digests on any host.
//
// Everything here is safe for concurrent use: nothing is shared between calls.
package ociimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Media types and annotations of the OCI image spec (v1.1) and containerd that Write uses.
const (
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	// MediaTypeLayer is an uncompressed layer: its digest is also its diff_id.
	MediaTypeLayer = "application/vnd.oci.image.layer.v1.tar"

	// AnnotationRefName is the tag in index.json (skopeo's oci-archive:FILE:TAG selects by it).
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// AnnotationImageName is the full reference in index.json. containerd (ctr, kind, Docker's
	// containerd store) names the imported image after it; without it ctr invents a name.
	AnnotationImageName = "io.containerd.image.name"
)

// ErrInvalid is wrapped by every error Write returns for an Image it cannot write.
var ErrInvalid = errors.New("invalid image")

// Image is a single-layer image.
type Image struct {
	// Ref names the image, with a tag: "ghcr.io/stampede-load/stampede-master:0.1.0". It becomes the
	// RepoTags of manifest.json and the names in index.json.
	Ref string
	// OS, Architecture and Variant are the platform, in GOOS/GOARCH terms ("linux", "arm64", "v8").
	OS, Architecture, Variant string
	// Created is the config's creation time and the modification time of every file. The zero
	// time means the Unix epoch.
	Created time.Time
	Config  Config
	// Files are the layer's contents, in any order. Missing parent directories are added as
	// root-owned 0755 directories.
	Files []File
	// CreatedBy describes in the config's history what made the layer.
	CreatedBy string
}

// Config is what a container runs: the "config" object of the OCI image configuration.
type Config struct {
	User         string // "uid:gid"
	Entrypoint   []string
	Cmd          []string
	Env          []string // KEY=VALUE
	WorkingDir   string
	ExposedPorts []string // "8080/tcp"; a bare number means tcp
	Labels       map[string]string
}

// File is one entry of the layer.
type File struct {
	Path string // absolute: "/usr/local/bin/stampede-master"
	// Mode holds the type (none for a regular file, fs.ModeDir or fs.ModeSymlink), the permission
	// bits and fs.ModeSetuid, fs.ModeSetgid or fs.ModeSticky.
	Mode     fs.FileMode
	UID, GID int
	Data     []byte // contents of a regular file
	Target   string // a symlink's target
}

// Digests identify what Write wrote, as "sha256:<hex>".
type Digests struct {
	Manifest string // the OCI manifest, as index.json names it
	Config   string // the image ID that docker shows with the classic image store
	Layer    string // also the layer's diff_id: it is not compressed
}

// Write writes img to w as an image tarball and returns its digests.
func Write(w io.Writer, img Image) (Digests, error) {
	ref, err := parseRef(img.Ref)
	if err != nil {
		return Digests{}, err
	}
	b, err := build(img)
	if err != nil {
		return Digests{}, err
	}
	mfDesc := b.manifest
	mfDesc.Annotations = map[string]string{AnnotationImageName: ref.full, AnnotationRefName: ref.tag}
	idx, err := json.Marshal(index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []descriptor{mfDesc}})
	if err != nil {
		return Digests{}, fmt.Errorf("index: %w", err)
	}
	docker, err := json.Marshal([]dockerManifest{{
		Config:   blobPath(b.digests.Config),
		RepoTags: []string{img.Ref},
		Layers:   []string{blobPath(b.digests.Layer)},
	}})
	if err != nil {
		return Digests{}, fmt.Errorf("manifest.json: %w", err)
	}
	if err := writeLayout(w, b.blobs, idx, docker, img.Created); err != nil {
		return Digests{}, err
	}
	return b.digests, nil
}

// WriteIndex writes images of one program for several platforms as one tarball: an OCI image
// layout whose index.json names, under ref, an image index (a "manifest list") of every image's
// manifest with its platform. A runtime pulls or loads the one for its own platform; skopeo copy
// --all, containerd (ctr import --all-platforms, kind) and Docker's containerd image store keep
// them all. There is no manifest.json: the docker save format has no place for several
// platforms under one name, so Docker's classic image store needs Write's one-platform tarball.
// The images' own Ref is ignored; their times must agree, as they become the tarball's.
func WriteIndex(w io.Writer, ref string, imgs []Image) (IndexDigests, error) {
	r, err := parseRef(ref)
	if err != nil {
		return IndexDigests{}, err
	}
	if len(imgs) == 0 {
		return IndexDigests{}, fmt.Errorf("%w: an index needs at least one image", ErrInvalid)
	}
	blobs := map[string][]byte{}
	var manifests []descriptor
	out := IndexDigests{Images: make([]Digests, len(imgs))}
	seen := map[platform]bool{}
	for i, img := range imgs {
		if !img.Created.Equal(imgs[0].Created) {
			return IndexDigests{}, fmt.Errorf("%w: the images of an index were created at different times", ErrInvalid)
		}
		b, err := build(img)
		if err != nil {
			return IndexDigests{}, err
		}
		if p := *b.manifest.Platform; seen[p] {
			return IndexDigests{}, fmt.Errorf("%w: two images for %s/%s%s", ErrInvalid, p.OS, p.Architecture, p.Variant)
		}
		seen[*b.manifest.Platform] = true
		maps.Copy(blobs, b.blobs)
		manifests = append(manifests, b.manifest)
		out.Images[i] = b.digests
	}
	list, err := json.Marshal(index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: manifests})
	if err != nil {
		return IndexDigests{}, fmt.Errorf("image index: %w", err)
	}
	listDesc := newDescriptor(MediaTypeIndex, list)
	blobs[listDesc.Digest] = list
	listDesc.Annotations = map[string]string{AnnotationImageName: r.full, AnnotationRefName: r.tag}
	idx, err := json.Marshal(index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []descriptor{listDesc}})
	if err != nil {
		return IndexDigests{}, fmt.Errorf("index: %w", err)
	}
	if err := writeLayout(w, blobs, idx, nil, imgs[0].Created); err != nil {
		return IndexDigests{}, err
	}
	out.Index = listDesc.Digest
	return out, nil
}

// IndexDigests identify what WriteIndex wrote.
type IndexDigests struct {
	Index  string    // the image index: what a registry serves for the tag
	Images []Digests // per image, in the order given
}

// built is one image's blobs and the descriptor of its manifest, with its platform.
type built struct {
	blobs    map[string][]byte
	manifest descriptor
	digests  Digests
}

func build(img Image) (built, error) {
	if img.OS == "" || img.Architecture == "" {
		return built{}, fmt.Errorf("%w: the OS and architecture are required", ErrInvalid)
	}
	created := imageTime(img.Created)
	ports, err := exposedPorts(img.Config.ExposedPorts)
	if err != nil {
		return built{}, err
	}
	files, err := layerEntries(img.Files)
	if err != nil {
		return built{}, err
	}
	layer, err := layerTar(files, created)
	if err != nil {
		return built{}, err
	}
	layerDesc := newDescriptor(MediaTypeLayer, layer)

	cfg, err := json.Marshal(imageConfig{
		Created:      created.Format(time.RFC3339),
		Architecture: img.Architecture,
		Variant:      img.Variant,
		OS:           img.OS,
		Config: runConfig{
			User:         img.Config.User,
			ExposedPorts: ports,
			Env:          img.Config.Env,
			Entrypoint:   img.Config.Entrypoint,
			Cmd:          img.Config.Cmd,
			WorkingDir:   img.Config.WorkingDir,
			Labels:       img.Config.Labels,
		},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{layerDesc.Digest}},
		History: []history{{Created: created.Format(time.RFC3339), CreatedBy: img.CreatedBy}},
	})
	if err != nil {
		return built{}, fmt.Errorf("image config: %w", err)
	}
	cfgDesc := newDescriptor(MediaTypeConfig, cfg)

	mf, err := json.Marshal(manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		Config:        cfgDesc,
		Layers:        []descriptor{layerDesc},
	})
	if err != nil {
		return built{}, fmt.Errorf("manifest: %w", err)
	}
	mfDesc := newDescriptor(MediaTypeManifest, mf)
	mfDesc.Platform = &platform{Architecture: img.Architecture, OS: img.OS, Variant: img.Variant}
	return built{
		blobs:    map[string][]byte{cfgDesc.Digest: cfg, layerDesc.Digest: layer, mfDesc.Digest: mf},
		manifest: mfDesc,
		digests:  Digests{Manifest: mfDesc.Digest, Config: cfgDesc.Digest, Layer: layerDesc.Digest},
	}, nil
}

// imageTime is the one time of everything in an image: whole seconds, UTC, the epoch for zero.
func imageTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC().Truncate(time.Second)
}

// writeLayout writes the tarball: the blobs, index.json, manifest.json when docker is not nil,
// and oci-layout, in that order (docker save's).
func writeLayout(w io.Writer, blobs map[string][]byte, idx, docker []byte, created time.Time) error {
	entries := []archiveEntry{{name: "blobs/"}, {name: "blobs/sha256/"}}
	for _, d := range slices.Sorted(maps.Keys(blobs)) {
		entries = append(entries, archiveEntry{name: blobPath(d), data: blobs[d]})
	}
	entries = append(entries, archiveEntry{name: "index.json", data: idx})
	if docker != nil {
		entries = append(entries, archiveEntry{name: "manifest.json", data: docker})
	}
	entries = append(entries, archiveEntry{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)})
	return writeArchive(w, entries, imageTime(created))
}

// blobPath is where the layout keeps a blob; manifest.json names blobs by this path too, as
// docker save does.
func blobPath(digest string) string {
	return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
}

// Digest is the OCI digest of b: "sha256:<hex>".
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func newDescriptor(mediaType string, b []byte) descriptor {
	return descriptor{MediaType: mediaType, Digest: Digest(b), Size: int64(len(b))}
}

type archiveEntry struct {
	name string // a trailing slash makes a directory
	data []byte
}

// writeArchive writes the outer tarball: root-owned, fixed modes, one time.
func writeArchive(w io.Writer, entries []archiveEntry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, ModTime: mtime, Typeflag: tar.TypeReg, Size: int64(len(e.data))}
		if strings.HasSuffix(e.name, "/") {
			hdr.Mode, hdr.Typeflag, hdr.Size = 0o755, tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("writing %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing the image tarball: %w", err)
	}
	return nil
}

// layerEntries validates files, adds missing parent directories and sorts them by path, which
// puts every directory before what it holds.
func layerEntries(files []File) ([]File, error) {
	byPath := make(map[string]File, len(files))
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return nil, fmt.Errorf("%w: file path %q: want a clean absolute path below /", ErrInvalid, f.Path)
		}
		if _, dup := byPath[f.Path]; dup {
			return nil, fmt.Errorf("%w: %s is given twice", ErrInvalid, f.Path)
		}
		switch f.Mode.Type() {
		case 0, fs.ModeDir, fs.ModeSymlink:
		default:
			return nil, fmt.Errorf("%w: %s: only regular files, directories and symlinks are supported", ErrInvalid, f.Path)
		}
		if f.UID < 0 || f.GID < 0 {
			return nil, fmt.Errorf("%w: %s: negative owner", ErrInvalid, f.Path)
		}
		byPath[f.Path] = f
	}
	for _, f := range files {
		for dir := path.Dir(f.Path); dir != "/"; dir = path.Dir(dir) {
			p, ok := byPath[dir]
			if !ok {
				byPath[dir] = File{Path: dir, Mode: fs.ModeDir | 0o755}
				continue
			}
			if !p.Mode.IsDir() {
				return nil, fmt.Errorf("%w: %s is inside %s, which is not a directory", ErrInvalid, f.Path, dir)
			}
		}
	}
	out := make([]File, 0, len(byPath))
	for _, f := range byPath {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// layerTar writes the layer: relative names as docker and containerd expect, numeric owners only.
func layerTar(files []File, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{
			Name:    strings.TrimPrefix(f.Path, "/"),
			Mode:    tarMode(f.Mode),
			Uid:     f.UID,
			Gid:     f.GID,
			ModTime: mtime,
		}
		switch f.Mode.Type() {
		case fs.ModeDir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case fs.ModeSymlink:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Target
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", f.Path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, fmt.Errorf("layer: %s: %w", f.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return buf.Bytes(), nil
}

// tarMode turns Go's mode bits into tar's (which are the C ones: 04000, 02000, 01000).
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

var portRE = regexp.MustCompile(`^[0-9]{1,5}(/(tcp|udp|sctp))?$`)

func exposedPorts(ports []string) (map[string]struct{}, error) {
	if len(ports) == 0 {
		return nil, nil
	}
	out := make(map[string]struct{}, len(ports))
	for _, p := range ports {
		if !portRE.MatchString(p) {
			return nil, fmt.Errorf("%w: exposed port %q: want PORT/tcp, PORT/udp or PORT/sctp", ErrInvalid, p)
		}
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		out[p] = struct{}{}
	}
	return out, nil
}

// reference is a parsed image reference.
type reference struct {
	full string // with the registry made explicit, as containerd names images
	tag  string
}

var (
	domainRE    = regexp.MustCompile(`^(localhost|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+|\[[0-9a-fA-F:]+\])(:[0-9]+)?$`)
	componentRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)
	tagRE       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// parseRef checks a tagged reference and normalizes it the way Docker and containerd do: a name
// without a registry is on docker.io, and a one-component name there is under library/.
func parseRef(s string) (reference, error) {
	bad := func(why string) (reference, error) {
		return reference{}, fmt.Errorf("%w: image reference %q: %s", ErrInvalid, s, why)
	}
	slash := strings.LastIndex(s, "/")
	colon := strings.LastIndex(s, ":")
	if colon <= slash {
		return bad("want NAME:TAG")
	}
	name, tag := s[:colon], s[colon+1:]
	if !tagRE.MatchString(tag) {
		return bad("invalid tag")
	}
	parts := strings.Split(name, "/")
	domain := ""
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:[") || parts[0] == "localhost") {
		domain, parts = parts[0], parts[1:]
		if !domainRE.MatchString(domain) {
			return bad("invalid registry")
		}
	}
	for _, p := range parts {
		if !componentRE.MatchString(p) {
			return bad("name components are lower case letters, digits and separators")
		}
	}
	if domain == "" {
		domain = "docker.io"
		if len(parts) == 1 {
			parts = append([]string{"library"}, parts...)
		}
	}
	return reference{full: domain + "/" + strings.Join(parts, "/") + ":" + tag, tag: tag}, nil
}

// The JSON documents, with the field names of the OCI image spec and docker save.

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

type imageConfig struct {
	Created      string    `json:"created"`
	Architecture string    `json:"architecture"`
	Variant      string    `json:"variant,omitempty"`
	OS           string    `json:"os"`
	Config       runConfig `json:"config"`
	RootFS       rootFS    `json:"rootfs"`
	History      []history `json:"history"`
}

type runConfig struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type history struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by,omitempty"`
}
