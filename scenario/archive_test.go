package scenario

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadArchive(t *testing.T) {
	t.Parallel()
	a, err := ReadArchive(testArchive(t, map[string]string{"file/home/u/lib.js": "export const a = 1;\n", "https/example.com/x.js": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if a.Entry != "file:///home/u/test.js" || a.Env["A"] != "1" || !strings.Contains(string(a.Options), `"vus":5`) {
		t.Errorf("entry %q, env %v, options %s", a.Entry, a.Env, a.Options)
	}
	var names []string
	for _, f := range a.Files {
		names = append(names, f.Name)
	}
	if want := []string{"data", "file/home/u/lib.js", "https/example.com/x.js"}; !reflect.DeepEqual(slices.Sorted(slices.Values(names)), want) {
		t.Errorf("files %v, want %v", names, want)
	}
	b := a.Bundle()
	if b.Entry != ArchiveName || !bytes.Equal(b.Files[ArchiveName], a.Tar) || b.Validate() != nil {
		t.Errorf("Bundle() = %q with %d files", b.Entry, len(b.Files))
	}

	for name, data := range map[string][]byte{
		"not a tar":        []byte("export default function () {}\n"),
		"no metadata.json": tarOf(t, map[string]string{"data": "x"}),
		"no data":          tarOf(t, map[string]string{"metadata.json": `{"type":"js"}`}),
		"another type":     tarOf(t, map[string]string{"metadata.json": `{"type":"wasm"}`, "data": "x"}),
		"an odd entry":     tarOf(t, map[string]string{"metadata.json": `{"type":"js"}`, "data": "x", "etc/passwd": "x"}),
		"an escaping name": tarOf(t, map[string]string{"metadata.json": `{"type":"js"}`, "data": "x", "../x": "x"}),
	} {
		if _, err := ReadArchive(data); !errors.Is(err, ErrBadArchive) {
			t.Errorf("%s: %v, want ErrBadArchive", name, err)
		}
	}
}

func TestArchiveCheck(t *testing.T) {
	t.Parallel()
	a, err := ReadArchive(testArchive(t, map[string]string{"file/home/u/big.csv": strings.Repeat("x", 3000), "file/home/u/lib.js": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Check(Limits{Files: 3, Bytes: 4000}); err != nil {
		t.Errorf("within the limits: %v", err)
	}
	err = a.Check(Limits{Files: 2, Bytes: 4000})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "3 files, more than the limit of 2") || !strings.Contains(err.Error(), "/home/u/big.csv (2.9 KiB)") {
		t.Errorf("over the file limit: %v", err)
	}
	err = a.Check(Limits{Files: 10, Bytes: 1024})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than the limit of 1.0 KiB (1024 bytes)") || !strings.Contains(err.Error(), "biggest files: /home/u/big.csv") {
		t.Errorf("over the byte limit: %v", err)
	}
}

// A swarm run's archive: one externally-controlled scenario instead of the script's shortcuts,
// everything else as recorded, every entry (the entry's link to data included) still there.
func TestSwarmArchive(t *testing.T) {
	t.Parallel()
	orig := testArchive(t, map[string]string{"file/home/u/lib.js": "1"})
	a, err := ReadArchive(orig)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.SwarmArchive(40, 90*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	var opts map[string]any
	if err := json.Unmarshal(s.Options, &opts); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"scenarios":  map[string]any{"swarm": map[string]any{"executor": "externally-controlled", "vus": 0.0, "maxVUs": 40.0, "duration": "1m30s"}},
		"thresholds": map[string]any{"http_req_failed": []any{"rate<0.01"}},
	}
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("options %v, want %v", opts, want)
	}
	if s.Entry != a.Entry || !reflect.DeepEqual(s.Env, a.Env) || !reflect.DeepEqual(s.Files, a.Files) {
		t.Errorf("the rest changed: %q %v %v", s.Entry, s.Env, s.Files)
	}
	if got, want := entries(t, s.Tar), entries(t, orig); !reflect.DeepEqual(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	if !bytes.Equal(a.Tar, orig) {
		t.Error("SwarmArchive changed the original")
	}
}

// entries lists a tar's entries as "name type [link]".
func entries(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Name+" "+string(h.Typeflag)+" "+h.Linkname)
	}
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := writeTarFile(tw, tarFile{name, []byte(files[name])}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The archive that calls handleSummary(): the wrapper is the entry, the script a file beside it
// (no longer a link to data), the input next to them, one iteration, the summary options kept.
func TestSummaryArchive(t *testing.T) {
	t.Parallel()
	a, err := ReadArchive(testArchive(t, map[string]string{"file/home/u/lib.js": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	a, err = a.WithOptions(func(o map[string]any) { o["summaryTrendStats"] = []string{"avg", "p(99)"} })
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.SummaryArchive([]byte(`{"data":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Entry != "file:///home/u/__stampede_summary.js" {
		t.Errorf("entry %q", s.Entry)
	}
	var opts map[string]any
	if err := json.Unmarshal(s.Options, &opts); err != nil {
		t.Fatal(err)
	}
	if len(opts) != 2 || opts["summaryTrendStats"] == nil || opts["scenarios"] == nil || opts["thresholds"] != nil {
		t.Errorf("options %v", opts)
	}
	bodies := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(s.Tar))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		bodies[h.Name] = string(h.Typeflag) + ":" + string(b)
	}
	if got := bodies["file/home/u/test.js"]; got != "0:export default function () {}\n" {
		t.Errorf("the script beside the wrapper: %q", got)
	}
	if got := bodies["file/home/u/__stampede_summary_input.json"]; got != `0:{"data":{}}` {
		t.Errorf("the input: %q", got)
	}
	if got := bodies["data"]; !strings.Contains(got, `import * as script from "file:///home/u/test.js"`) || !strings.Contains(got, "script.handleSummary(input.data)") {
		t.Errorf("the wrapper: %q", got)
	}
	if !a.Contains("export default") || a.Contains("handleSummary") || !s.Contains("handleSummary") {
		t.Error("Contains")
	}
}
