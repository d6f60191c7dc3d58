package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"slices"
	"testing"
	"time"
)

var epoch = time.Unix(1700000000, 0)

func testFiles() []File {
	return []File{
		{Name: "stampede_v1_linux_amd64/stampede-master", Exec: true, Data: []byte("\x7fELF master")},
		{Name: "stampede_v1_linux_amd64/LICENSE", Data: []byte("Apache")},
		{Name: "stampede_v1_linux_amd64/examples/quickstart.js", Data: []byte("export default function () {}")},
	}
}

// read returns name -> mode and contents of an archive, in archive order.
type item struct {
	name string
	mode int64
	data string
	time time.Time
}

func read(t *testing.T, f Format, b []byte) []item {
	t.Helper()
	var out []item
	switch f {
	case TarGz:
		gz, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if gz.Name != "" || !gz.ModTime.IsZero() {
			t.Errorf("gzip header names %q at %v; want neither", gz.Name, gz.ModTime)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
				t.Errorf("%s: owner %d:%d %q:%q, want numeric root", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
			}
			data, _ := io.ReadAll(tr)
			out = append(out, item{h.Name, h.Mode, string(data), h.ModTime})
		}
	case Zip:
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			out = append(out, item{zf.Name, int64(zf.Mode().Perm()), string(data), zf.Modified})
		}
	}
	return out
}

func TestWrite(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{TarGz, Zip} {
		t.Run(map[Format]string{TarGz: "tar.gz", Zip: "zip"}[f], func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Write(&buf, f, testFiles(), epoch); err != nil {
				t.Fatal(err)
			}
			got := read(t, f, buf.Bytes())
			want := []item{
				{"stampede_v1_linux_amd64/", 0o755, "", epoch},
				{"stampede_v1_linux_amd64/LICENSE", 0o644, "Apache", epoch},
				{"stampede_v1_linux_amd64/examples/", 0o755, "", epoch},
				{"stampede_v1_linux_amd64/examples/quickstart.js", 0o644, "export default function () {}", epoch},
				{"stampede_v1_linux_amd64/stampede-master", 0o755, "\x7fELF master", epoch},
			}
			if len(got) != len(want) {
				t.Fatalf("entries %+v, want %+v", got, want)
			}
			for i := range want {
				if got[i].name != want[i].name || got[i].mode != want[i].mode || got[i].data != want[i].data || !got[i].time.Equal(epoch) {
					t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestWriteIsReproducible(t *testing.T) {
	t.Parallel()
	write := func(f Format, files []File, mtime time.Time) []byte {
		var buf bytes.Buffer
		if err := Write(&buf, f, files, mtime); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, f := range []Format{TarGz, Zip} {
		base := write(f, testFiles(), epoch)
		reversed := testFiles()
		slices.Reverse(reversed)
		if !bytes.Equal(write(f, reversed, epoch.Add(300*time.Millisecond)), base) {
			t.Errorf("format %d: the same files in another order, or a sub-second later, give other bytes", f)
		}
		if bytes.Equal(write(f, testFiles(), epoch.Add(2*time.Second)), base) {
			t.Errorf("format %d: another time gives the same bytes", f)
		}
		changed := testFiles()
		changed[1].Data = []byte("Apachf")
		if bytes.Equal(write(f, changed, epoch), base) {
			t.Errorf("format %d: other contents give the same bytes", f)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	t.Parallel()
	tests := map[string][]File{
		"absolute":       {{Name: "/etc/passwd"}},
		"escapes":        {{Name: "../x"}},
		"unclean":        {{Name: "a/./b"}},
		"empty":          {{Name: ""}},
		"twice":          {{Name: "a"}, {Name: "a"}},
		"inside a file":  {{Name: "a"}, {Name: "a/b"}},
		"trailing slash": {{Name: "a/"}},
	}
	for name, files := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Write(&buf, TarGz, files, epoch); !errors.Is(err, ErrInvalid) {
				t.Errorf("Write: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]Format{"a.tar.gz": TarGz, "a.tgz": TarGz, "dist/a.zip": Zip} {
		if got, err := FormatOf(name); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := FormatOf("a.tar"); !errors.Is(err, ErrInvalid) {
		t.Errorf("FormatOf(a.tar): %v, want ErrInvalid", err)
	}
}
