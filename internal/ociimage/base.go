package ociimage

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Nonroot is the user and group the images run as; 65532 is distroless's "nonroot", so volumes
// and securityContexts written for distroless images fit.
const Nonroot = 65532

// StaticBase returns what a static Go binary needs around it to run as Nonroot in an otherwise
// empty image: /etc/passwd and /etc/group naming root, nobody and nonroot, a home directory for
// nonroot, a world-writable sticky /tmp (os.MkdirTemp) and the CA bundle caCerts (PEM, usually the
// build host's /etc/ssl/certs/ca-certificates.crt) where Go's crypto/x509 looks first.
// Hostname resolution needs nothing more: the runtime mounts /etc/hosts and /etc/resolv.conf, and
// without /etc/nsswitch.conf Go looks in files, then DNS.
func StaticBase(caCerts []byte) []File {
	files := []File{
		{Path: "/etc", Mode: fs.ModeDir | 0o755},
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
				"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Path: "/etc/group", Mode: 0o644, Data: []byte(
			"root:x:0:\n" +
				"nobody:x:65534:\n" +
				"nonroot:x:65532:\n")},
		{Path: "/home", Mode: fs.ModeDir | 0o755},
		{Path: "/home/nonroot", Mode: fs.ModeDir | 0o700, UID: Nonroot, GID: Nonroot},
		{Path: "/root", Mode: fs.ModeDir | 0o700},
		{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
	}
	if len(caCerts) > 0 {
		files = append(files, File{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: caCerts})
	}
	return files
}

// ErrNotStatic is returned by CheckStatic for a binary that cannot run in an image without a C
// library, or not on the image's architecture.
var ErrNotStatic = errors.New("not a static executable for the image")

// elfMachines maps GOARCH to the ELF machine its binaries declare.
var elfMachines = map[string]elf.Machine{
	"386":     elf.EM_386,
	"amd64":   elf.EM_X86_64,
	"arm":     elf.EM_ARM,
	"arm64":   elf.EM_AARCH64,
	"loong64": elf.EM_LOONGARCH,
	"ppc64le": elf.EM_PPC64,
	"riscv64": elf.EM_RISCV,
	"s390x":   elf.EM_S390,
}

// CheckStatic returns nil when r is an ELF executable for goarch with no program interpreter,
// i.e. one that runs in an image holding nothing else. A dynamically linked binary (built with
// cgo) would fail there with a confusing "no such file or directory" for its missing loader.
func CheckStatic(r io.ReaderAt, goarch string) error {
	f, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotStatic, err)
	}
	defer f.Close()
	want, ok := elfMachines[goarch]
	if !ok {
		return fmt.Errorf("%w: unknown architecture %q", ErrNotStatic, goarch)
	}
	if f.Machine != want {
		return fmt.Errorf("%w: built for %v, the image is %s", ErrNotStatic, f.Machine, goarch)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%w: ELF type %v is not an executable", ErrNotStatic, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: dynamically linked (build with CGO_ENABLED=0)", ErrNotStatic)
		}
	}
	return nil
}
