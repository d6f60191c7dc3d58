// Package release writes the archives `make dist` publishes: a .tar.gz or a .zip whose bytes are a
// function of its inputs alone. Every entry has one time (the commit's, SOURCE_DATE_EPOCH), numeric
// root ownership, mode 0755 or 0644 and a fixed order, and the gzip header names no file or time, so
// the same files give the same archive on any machine with the same Go toolchain.
//
// Everything here is safe for concurrent use: nothing is shared between calls.
package release

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error for an archive Write will not write.
var ErrInvalid = errors.New("invalid archive")

// File is one file of an archive.
type File struct {
	Name string // slash-separated, relative: "stampede_v0.2.0_linux_amd64/stampede-master"
	Exec bool   // mode 0755, else 0644
	Data []byte
}

// Format is how an archive is written.
type Format int

const (
	TarGz Format = iota // Linux and macOS
	Zip                 // Windows
)

// FormatOf returns the format a file name asks for: .tar.gz (or .tgz) or .zip.
func FormatOf(name string) (Format, error) {
	switch {
	case strings.HasSuffix(name, ".tar.gz"), strings.HasSuffix(name, ".tgz"):
		return TarGz, nil
	case strings.HasSuffix(name, ".zip"):
		return Zip, nil
	}
	return 0, fmt.Errorf("%w: %s: want a .tar.gz or .zip name", ErrInvalid, name)
}

// Write writes files to w as one archive, sorted by name, with parent directories added, every
// time mtime.
func Write(w io.Writer, f Format, files []File, mtime time.Time) error {
	entries, err := entries(files)
	if err != nil {
		return err
	}
	mtime = mtime.UTC().Truncate(time.Second)
	switch f {
	case TarGz:
		return writeTarGz(w, entries, mtime)
	case Zip:
		return writeZip(w, entries, mtime)
	}
	return fmt.Errorf("%w: unknown format %d", ErrInvalid, f)
}

// entry is a file, or a directory when its name ends in a slash.
type entry struct {
	File
	dir bool
}

func entries(files []File) ([]entry, error) {
	seen := map[string]bool{}
	var out []entry
	for _, f := range files {
		if f.Name == "" || path.IsAbs(f.Name) || path.Clean(f.Name) != f.Name || strings.HasPrefix(f.Name, "../") || f.Name == ".." {
			return nil, fmt.Errorf("%w: file name %q: want a clean relative path", ErrInvalid, f.Name)
		}
		if seen[f.Name] || seen[f.Name+"/"] {
			return nil, fmt.Errorf("%w: %s is given twice", ErrInvalid, f.Name)
		}
		seen[f.Name] = true
		out = append(out, entry{File: f})
	}
	for _, f := range files {
		for dir := path.Dir(f.Name); dir != "."; dir = path.Dir(dir) {
			if seen[dir] {
				return nil, fmt.Errorf("%w: %s is inside %s, which is a file", ErrInvalid, f.Name, dir)
			}
			if !seen[dir+"/"] {
				seen[dir+"/"] = true
				out = append(out, entry{File: File{Name: dir + "/"}, dir: true})
			}
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (e entry) mode() int64 {
	if e.dir || e.Exec {
		return 0o755
	}
	return 0o644
}

func writeTarGz(w io.Writer, entries []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	// gzip.Header stays zero: no name, no time, OS "unknown".
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Mode: e.mode(), ModTime: mtime, Typeflag: tar.TypeReg, Size: int64(len(e.Data)), Format: tar.FormatPAX}
		if e.dir {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		// PAX without access or change times: tar.Writer adds none when they are zero.
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		if _, err := tw.Write(e.Data); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(0o644)
		if e.dir {
			hdr.Method = zip.Store
			hdr.SetMode(fs.ModeDir | 0o755)
		} else if e.Exec {
			hdr.SetMode(0o755)
		}
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		if _, err := fw.Write(e.Data); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
	}
	return zw.Close()
}
