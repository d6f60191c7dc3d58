package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/stampede-load/stampede/internal/master"
)

// A File is one report file asked for by an option: where it goes and what writes it.
type File struct {
	Option string // the option that asked for it, e.g. "--junit"
	What   string // what it is, for messages: "JUnit report"
	Path   string
	Write  func(io.Writer, *master.Result) error
}

// CSVFiles are the three files of Locust's --csv PREFIX: PREFIX_stats.csv, PREFIX_stats_history.csv
// and PREFIX_failures.csv.
func CSVFiles(option, prefix string) []File {
	return []File{
		{option, "CSV stats", prefix + "_stats.csv", WriteStatsCSV},
		{option, "CSV stats history", prefix + "_stats_history.csv", WriteHistoryCSV},
		{option, "CSV failures", prefix + "_failures.csv", WriteFailuresCSV},
	}
}

// Check makes sure the file can be written before a run sends any load: it creates the missing
// parent directories and creates and removes a file beside the path, which is what Save will do.
// An existing device or pipe (/dev/stdout) is opened for writing instead. The error names the
// option, the path and the reason.
func (f File) Check() error {
	if err := checkWritable(f.Path); err != nil {
		return fmt.Errorf("%s %s: cannot write the %s there: %w", f.Option, f.Path, f.What, err)
	}
	return nil
}

// Save writes the report of res to the file; the error names the file.
func (f File) Save(res *master.Result) error {
	if err := WriteFile(f.Path, func(w io.Writer) error { return f.Write(w, res) }); err != nil {
		return fmt.Errorf("writing the %s %s: %w", f.What, f.Path, err)
	}
	return nil
}

func checkWritable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return errors.New("it is a directory")
	case err == nil && fi.Mode()&fs.ModeNamedPipe != 0:
		return nil // opening a pipe for writing waits for its reader
	case err == nil && !fi.Mode().IsRegular():
		d, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return d.Close()
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	probe, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// WriteFile writes path through a temporary file in the same directory, synced and then renamed
// over the old one, so a reader sees a whole file, old or new, never half of one, even after a crash.
// It may therefore be called again and again during a run. A path that names an existing device or
// pipe (/dev/stdout) is written directly: renaming over it would replace the device.
func WriteFile(path string, write func(io.Writer) error) (err error) {
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
	// CreateTemp makes the file private; a report is as readable as any file the user creates.
	if err = f.Chmod(0o644); err != nil {
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
