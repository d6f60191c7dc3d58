// Command stampede-release writes one release archive (`make dist` runs it; see README.md):
//
//	stampede-release --out dist/release/stampede_v0.2.0_linux_amd64.tar.gz --epoch 1700000000 \
//		dist/build/linux_amd64/stampede-master=stampede-master LICENSE README.md examples/quickstart.js
//
// Each argument is SRC or SRC=NAME; the file goes into the archive as DIR/NAME, where DIR is the
// archive's name without .tar.gz or .zip, executable when SRC is. Every time is --epoch
// (default $SOURCE_DATE_EPOCH, else 0), so the same files give the same bytes.
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
	"github.com/stampede-load/stampede/internal/release"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stampede-release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the archive to write, .tar.gz or .zip (required)")
	epoch, err := cli.EpochFlag(fs, "every file's time", os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "stampede-release:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	format, err := release.FormatOf(*out)
	if *out == "" || fs.NArg() == 0 || err != nil {
		fmt.Fprintln(stderr, "stampede-release: --out NAME.tar.gz or NAME.zip and at least one file are required")
		return 2
	}
	dir := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(*out), ".zip"), ".tar.gz")
	var files []release.File
	for _, arg := range fs.Args() {
		src, name, ok := strings.Cut(arg, "=")
		if !ok {
			name = filepath.ToSlash(src)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			fmt.Fprintln(stderr, "stampede-release:", err)
			return 1
		}
		fi, err := os.Stat(src)
		if err != nil {
			fmt.Fprintln(stderr, "stampede-release:", err)
			return 1
		}
		files = append(files, release.File{Name: dir + "/" + name, Exec: fi.Mode()&0o111 != 0, Data: data})
	}
	var buf bytes.Buffer
	if err := release.Write(&buf, format, files, time.Unix(*epoch, 0)); err != nil {
		fmt.Fprintln(stderr, "stampede-release:", err)
		return 1
	}
	if err := writeFile(*out, buf.Bytes()); err != nil { // no partial archive, whatever fails
		fmt.Fprintln(stderr, "stampede-release:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s %d files %d bytes\n", *out, len(files), buf.Len())
	return 0
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}
