// Package atomicfile writes files whole: through a temporary file in the same directory, synced,
// then renamed over the old one, so a reader sees the old file or the new one, never half of one,
// even after a crash. Reports, release archives and image tarballs are written this way.
package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
)

// Write writes path with write, readable by anyone (0644). It may be called again and again for one
// path (a report refreshed during a run). A path that names an existing device or pipe (/dev/stdout)
// is written directly: renaming over it would replace the device. The directory must exist.
func Write(path string, write func(io.Writer) error) error {
	return WriteMode(path, 0o644, write)
}

// WriteMode is Write with the file's permissions: 0600 for a file only its owner may read.
func WriteMode(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		return writeDirect(path, write)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	// CreateTemp makes the file private (0600); perm is set before the rename, so readers never see
	// the file with other permissions.
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil { // else a crash soon after the rename can leave an empty file
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func writeDirect(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	return errors.Join(err, f.Close())
}
