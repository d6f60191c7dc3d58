package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/stampede-load/stampede/internal/atomicfile"
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
// parent directories and creates and removes a file beside the path, as Save will.
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
	if err := atomicfile.Write(f.Path, func(w io.Writer) error { return f.Write(w, res) }); err != nil {
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
