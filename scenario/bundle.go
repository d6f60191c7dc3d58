package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"
)

// Ceilings on any bundle, checked by Validate where a bundle arrives (the worker) and by
// Limits.Validate for the limits an operator sets. A bundle travels in one gRPC message of at most
// 128 MiB, so the byte ceiling leaves room for the rest of the message.
const (
	MaxBundleFiles = 10000
	MaxBundleBytes = 100 << 20
)

// Limits bound a run's archive (Archive.Check): the script, its modules and the files it opens.
// They keep a script that opens a large data set from being shipped to every worker by mistake.
type Limits struct {
	Files int   // most files, the entry included
	Bytes int64 // most bytes, all files together
}

// DefaultLimits are the master's limits unless --max-bundle-files/--max-bundle-bytes say otherwise.
var DefaultLimits = Limits{Files: 1000, Bytes: 16 << 20}

// Validate checks that l is positive and within the ceilings.
func (l Limits) Validate() error {
	if l.Files < 1 || l.Files > MaxBundleFiles {
		return fmt.Errorf("bundle file limit %d: must be 1..%d", l.Files, MaxBundleFiles)
	}
	if l.Bytes < 1 || l.Bytes > MaxBundleBytes {
		return fmt.Errorf("bundle size limit %d bytes: must be 1..%d (%s)", l.Bytes, int64(MaxBundleBytes), FormatBytes(MaxBundleBytes))
	}
	return nil
}

var (
	// ErrNotFound means a bundle's entry is not one of its files.
	ErrNotFound = errors.New("file not found")
	// ErrTooLarge means an archive is over its Limits (Archive.Check) or a bundle over the
	// ceilings (Validate).
	ErrTooLarge = errors.New("bundle too large")
	// ErrUnsafePath means a bundle path is empty, absolute or leaves the bundle root.
	ErrUnsafePath = errors.New("unsafe bundle path")
)

// Bundle is what the workers receive and write to a directory of their own before they start k6
// on Entry: today one k6 archive (Archive.Bundle), kept general so that the transport and the
// worker's checks do not depend on what a test is made of.
type Bundle struct {
	Entry string            // slash-separated path of the entry script, relative to the bundle root
	Files map[string][]byte // slash-separated path relative to the bundle root -> content (includes Entry)
}

// FormatBytes writes n bytes for people: "512 B", "1.5 KiB", "16.0 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Validate checks the bundle's shape without touching disk: the entry is one
// of the files, every path is relative, stays under the bundle root and names
// a different file than the others, and the bundle is within the limits.
func (b *Bundle) Validate() error {
	if b == nil {
		return errors.New("nil bundle")
	}
	if len(b.Files) > MaxBundleFiles {
		return fmt.Errorf("%w: %d files, at most %d", ErrTooLarge, len(b.Files), MaxBundleFiles)
	}
	var total int64
	cleaned := make(map[string]string, len(b.Files))
	for _, name := range slices.Sorted(maps.Keys(b.Files)) {
		c, err := cleanPath(name)
		if err != nil {
			return err
		}
		if other, dup := cleaned[c]; dup {
			return fmt.Errorf("%w: %q and %q are the same file", ErrUnsafePath, other, name)
		}
		cleaned[c] = name
		total += int64(len(b.Files[name]))
	}
	if total > MaxBundleBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, total, MaxBundleBytes)
	}
	if _, err := cleanPath(b.Entry); err != nil {
		return fmt.Errorf("entry: %w", err)
	}
	if _, ok := b.Files[b.Entry]; !ok {
		return fmt.Errorf("entry %q is not in the bundle: %w", b.Entry, ErrNotFound)
	}
	return nil
}

// cleanPath returns the cleaned form of a bundle path, or ErrUnsafePath if it
// would not stay inside the directory the bundle is written to.
func cleanPath(name string) (string, error) {
	c := path.Clean(name)
	if name == "" || path.IsAbs(name) || c == "." || c == ".." || strings.HasPrefix(c, "../") ||
		strings.ContainsRune(name, 0) || !filepath.IsLocal(filepath.FromSlash(c)) {
		return "", fmt.Errorf("%w: %q", ErrUnsafePath, name)
	}
	return c, nil
}

// Write materialises the bundle under dir, creating directories as needed,
// and returns the absolute path of the entry. It checks the whole bundle with
// Validate before writing anything, and writes through an os.Root so that
// symbolic links already under dir cannot lead outside it either.
func (b *Bundle) Write(dir string) (string, error) {
	if err := b.Validate(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	for _, name := range slices.Sorted(maps.Keys(b.Files)) {
		c, _ := cleanPath(name) // validated above
		p := filepath.FromSlash(c)
		if d := filepath.Dir(p); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return "", fmt.Errorf("write bundle: %w", err)
			}
		}
		if err := root.WriteFile(p, b.Files[name], 0o644); err != nil {
			return "", fmt.Errorf("write bundle: %w", err)
		}
	}
	c, _ := cleanPath(b.Entry)
	return filepath.Abs(filepath.Join(dir, filepath.FromSlash(c)))
}

// FS is the bundle's files as a read-only file system, by their names in the bundle (for a flow's
// data sets, which the native engine reads from the bundle in memory).
func (b *Bundle) FS() fs.FS {
	files := make(fstest.MapFS, len(b.Files))
	for name, data := range b.Files {
		files[name] = &fstest.MapFile{Data: data, Mode: 0o444}
	}
	return files
}
