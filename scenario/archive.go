package scenario

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ArchiveName is the entry of a bundle made from a k6 archive: the one file, which the worker
// runs with `k6 run archive.tar`.
const ArchiveName = "archive.tar"

// ErrBadArchive means a file given as a k6 archive is not one.
var ErrBadArchive = errors.New("not a k6 archive")

// Archive is a k6 archive, as `k6 archive` writes it and `k6 run` runs it: a tar of metadata.json
// (the options, consolidated when the archive was made, and the environment), the entry script as
// "data", and every module and file the script's init code read, local ones under file/ and
// remote ones under https/. k6 runs an archive with its recorded options, not with what the
// script's options export would say.
type Archive struct {
	// Tar is the archive itself.
	Tar []byte
	// Entry is the script's path as k6 recorded it (a file:// or https:// URL).
	Entry string
	// Options is metadata.json's "options", as k6 wrote it.
	Options json.RawMessage
	// Env is the environment recorded in the archive (--env at `k6 archive` time).
	Env map[string]string
	// Files are the files in the archive: the entry (Data) and every module and data file.
	Files []ArchiveFile
}

// ArchiveFile is one file of an archive.
type ArchiveFile struct {
	Name string // the tar entry's name: "data", "file/home/u/lib.js", "https/example.com/x.js"
	Size int64
}

// maxArchiveEntries bounds the tar entries ReadArchive accepts (files and directories), before
// any Limits apply.
const maxArchiveEntries = 4 * MaxBundleFiles

// metadata is what the package reads of metadata.json. Options and the rest are kept as they are.
type metadata struct {
	Type     string            `json:"type"`
	Filename string            `json:"filename"`
	Options  json.RawMessage   `json:"options"`
	Env      map[string]string `json:"env"`
}

// ReadArchive reads a k6 archive. It checks the shape k6 relies on (metadata.json of type "js",
// a "data" entry, relative entry names) and returns ErrBadArchive otherwise; it does not load the
// script.
func ReadArchive(tarData []byte) (*Archive, error) {
	if len(tarData) > MaxBundleBytes {
		return nil, fmt.Errorf("%w: %s, at most %s", ErrTooLarge, FormatBytes(int64(len(tarData))), FormatBytes(MaxBundleBytes))
	}
	a := &Archive{Tar: tarData}
	var meta *metadata
	hasData := false
	tr := tar.NewReader(bytes.NewReader(tarData))
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadArchive, err)
		}
		if n >= maxArchiveEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTooLarge, maxArchiveEntries)
		}
		name := hdr.Name
		if c := path.Clean(name); name == "" || path.IsAbs(name) || c == ".." || strings.HasPrefix(c, "../") || strings.ContainsRune(name, 0) {
			return nil, fmt.Errorf("%w: entry %q", ErrBadArchive, name)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue // directories, and the link from the entry's path to "data"
		}
		switch name {
		case "metadata.json":
			body, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%w: metadata.json: %w", ErrBadArchive, err)
			}
			meta = &metadata{}
			if err := json.Unmarshal(body, meta); err != nil {
				return nil, fmt.Errorf("%w: metadata.json: %w", ErrBadArchive, err)
			}
			continue
		case "data":
			hasData = true
		default:
			if top, _, _ := strings.Cut(name, "/"); top != "file" && top != "https" {
				return nil, fmt.Errorf("%w: entry %q is neither under file/ nor https/", ErrBadArchive, name)
			}
		}
		a.Files = append(a.Files, ArchiveFile{Name: name, Size: hdr.Size})
	}
	switch {
	case meta == nil:
		return nil, fmt.Errorf("%w: no metadata.json (make one with `k6 archive script.js`)", ErrBadArchive)
	case meta.Type != "js":
		return nil, fmt.Errorf("%w: metadata.json says type %q; only JavaScript archives run", ErrBadArchive, meta.Type)
	case !hasData:
		return nil, fmt.Errorf("%w: no data entry (the script)", ErrBadArchive)
	}
	a.Entry, a.Options, a.Env = meta.Filename, meta.Options, meta.Env
	if len(a.Options) == 0 {
		a.Options = json.RawMessage("{}")
	}
	return a, nil
}

// Check returns an error matching ErrTooLarge, naming the limit and the biggest files, when the
// archive has more files or bytes than l allows. The entry script counts as a file.
func (a *Archive) Check(l Limits) error {
	if err := l.Validate(); err != nil {
		return err
	}
	var total int64
	for _, f := range a.Files {
		total += f.Size
	}
	switch {
	case len(a.Files) > l.Files:
		return fmt.Errorf("%w: %d files, more than the limit of %d; biggest files: %s", ErrTooLarge, len(a.Files), l.Files, a.biggest())
	case total > l.Bytes:
		return fmt.Errorf("%w: %s in all, more than the limit of %s (%d bytes); biggest files: %s", ErrTooLarge,
			FormatBytes(total), FormatBytes(l.Bytes), l.Bytes, a.biggest())
	}
	return nil
}

// biggest names the three largest files, as the script named them where it can.
func (a *Archive) biggest() string {
	files := slices.Clone(a.Files)
	slices.SortStableFunc(files, func(x, y ArchiveFile) int { return int(min(max(y.Size-x.Size, -1), 1)) })
	var parts []string
	for _, f := range files[:min(len(files), 3)] {
		name := f.Name
		switch {
		case name == "data":
			name = strings.TrimPrefix(a.Entry, "file://")
		case strings.HasPrefix(name, "file/"):
			name = "/" + strings.TrimPrefix(name, "file/")
		case strings.HasPrefix(name, "https/"):
			name = "https://" + strings.TrimPrefix(name, "https/")
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", name, FormatBytes(f.Size)))
	}
	return strings.Join(parts, ", ")
}

// Bundle is the archive as the workers receive it: one file, ArchiveName.
func (a *Archive) Bundle() *Bundle {
	return &Bundle{Entry: ArchiveName, Files: map[string][]byte{ArchiveName: a.Tar}}
}

// Archive reads the bundle's archive: a bundle the master made holds one, ArchiveName.
func (b *Bundle) Archive() (*Archive, error) {
	data, ok := b.Files[ArchiveName]
	if b.Entry != ArchiveName || !ok {
		return nil, fmt.Errorf("%w: the bundle's entry is %q, not %s", ErrBadArchive, b.Entry, ArchiveName)
	}
	return ReadArchive(data)
}

// WithOptions returns a copy of the archive whose recorded options are edit's result on a copy of
// them (decoded as JSON objects). The other entries are copied unchanged.
func (a *Archive) WithOptions(edit func(opts map[string]any)) (*Archive, error) {
	raw, err := a.editedOptions(edit)
	if err != nil {
		return nil, err
	}
	out, err := rewriteArchive(a.Tar, func(name string, body []byte) ([]byte, bool, error) {
		if name != "metadata.json" {
			return body, true, nil
		}
		return editMetadata(body, func(meta map[string]json.RawMessage) { meta["options"] = raw })
	}, nil)
	if err != nil {
		return nil, err
	}
	return ReadArchive(out)
}

// editedOptions is the archive's recorded options, decoded as a JSON object (empty if they are
// not one), after edit.
func (a *Archive) editedOptions(edit func(opts map[string]any)) (json.RawMessage, error) {
	var opts map[string]any
	if err := json.Unmarshal(a.Options, &opts); err != nil || opts == nil {
		opts = map[string]any{}
	}
	edit(opts)
	return json.Marshal(opts)
}

// SwarmArchive returns the archive a worker runs in swarm mode: the script's default function
// under k6's externally-controlled executor with no VUs at start, at most maxVUs, for duration
// (0: until stopped). The script's own scenarios, stages, vus, duration and iterations are
// dropped; everything else it set (thresholds, tags, ...) still applies.
//
// With classes, each VU runs the exported function of the class the k6/x/stampede module gives it
// (internal/k6run), through a generated wrapper that becomes the archive's entry: it imports the
// script as k6 recorded it, passes setup() and teardown() through, and runs the class's function.
func (a *Archive) SwarmArchive(maxVUs int, duration time.Duration, classes []string) (*Archive, error) {
	swarm := func(opts map[string]any) {
		for _, k := range []string{"scenarios", "stages", "vus", "duration", "iterations"} {
			delete(opts, k)
		}
		sc := map[string]any{
			"executor": "externally-controlled",
			"vus":      0,
			"maxVUs":   maxVUs,
			"duration": duration.String(),
		}
		if len(classes) > 0 {
			sc["exec"] = swarmExec
		}
		opts["scenarios"] = map[string]any{SwarmScenario: sc}
	}
	if len(classes) == 0 {
		return a.WithOptions(swarm)
	}
	at, err := layoutOf(a.Entry, swarmWrapperName, "")
	if err != nil {
		return nil, err
	}
	opts, err := a.editedOptions(swarm)
	if err != nil {
		return nil, err
	}
	return a.wrapped(at, opts, swarmWrapper(a.Entry, classes))
}

// The swarm wrapper's file and the function its scenario runs.
const (
	swarmWrapperName = "__stampede_swarm.js"
	swarmExec        = "__stampede_user"
)

// swarmWrapper is the entry of a swarm of user classes: entry is the script's URL as k6 recorded it.
// A class the script does not export fails the init code (so the worker's k6 fails before any
// load) with a message that names it.
func swarmWrapper(entry string, classes []string) []byte {
	list, _ := json.Marshal(classes)
	return fmt.Appendf(nil, `// Code generated by stampede for a swarm of user classes. DO NOT EDIT.
import * as script from %[1]s;
import { userClass } from "k6/x/stampede";

const classes = %[2]s;
const missing = classes.filter((name) => typeof script[name] !== "function");
if (missing.length > 0) {
  throw new Error("options.ext.stampede.classes: the script exports no function named " + missing.join(", ") +
    " (each user class runs the exported function of its name)");
}

export function setup(...args) {
  if (typeof script.setup === "function") return script.setup(...args);
}

export function teardown(...args) {
  if (typeof script.teardown === "function") return script.teardown(...args);
}

export default function () {}

export function %[3]s(data) {
  return script[userClass()](data);
}
`, strconv.Quote(entry), list, swarmExec)
}

// SwarmScenario is the name of the scenario of a swarm run; k6 tags the test's metrics with it.
const SwarmScenario = "swarm"

// rewriteArchive copies the tar, passing each entry's name and body to edit, which returns the body
// to write and whether to keep the entry. For an entry that is no regular file (a directory, the
// link from the entry script's path to "data") the body given is nil; returning nil copies it as it
// is, returning a body replaces it with a regular file. extra entries are appended at the end.
func rewriteArchive(tarData []byte, edit func(name string, body []byte) ([]byte, bool, error), extra []tarFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tr := tar.NewReader(bytes.NewReader(tarData))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadArchive, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			if edited, keep, err := edit(hdr.Name, nil); err != nil {
				return nil, err
			} else if !keep {
				continue
			} else if edited != nil {
				// A link or directory replaced by a file.
				if err := writeTarFile(tw, tarFile{hdr.Name, edited}); err != nil {
					return nil, err
				}
				continue
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadArchive, err)
		}
		body, keep, err := edit(hdr.Name, body)
		if err != nil {
			return nil, err
		}
		if !keep {
			continue
		}
		hdr.Size = int64(len(body))
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	for _, f := range extra {
		if err := writeTarFile(tw, f); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// eachEntry calls fn with the name of every entry of the tar, in order, and the body of those
// that are regular files (nil for the others).
func eachEntry(tarData []byte, fn func(name string, body []byte)) error {
	tr := tar.NewReader(bytes.NewReader(tarData))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadArchive, err)
		}
		var body []byte
		if hdr.Typeflag == tar.TypeReg {
			if body, err = io.ReadAll(tr); err != nil {
				return fmt.Errorf("%w: %w", ErrBadArchive, err)
			}
		}
		fn(hdr.Name, body)
	}
}

// editMetadata is rewriteArchive's edit of metadata.json: set changes its fields, the rest are kept
// as they are, and it is written indented, as k6 writes it.
func editMetadata(body []byte, set func(meta map[string]json.RawMessage)) ([]byte, bool, error) {
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(body, &meta); err != nil {
		return nil, false, fmt.Errorf("%w: metadata.json: %w", ErrBadArchive, err)
	}
	set(meta)
	b, err := json.MarshalIndent(meta, "", "  ")
	return b, true, err
}

type tarFile struct {
	name string
	body []byte
}

func writeTarFile(tw *tar.Writer, f tarFile) error {
	if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(f.body)
	return err
}

// Names of what SummaryArchive adds beside the script.
const (
	summaryWrapperName = "__stampede_summary.js"
	summaryInputName   = "__stampede_summary_input.json"
)

// SummaryArchive returns the archive the master runs to call the script's handleSummary() on the
// fleet's data: its entry is a module beside the script that imports it, runs one iteration that
// does nothing, and whose handleSummary() reads input (JSON: {"data": handleSummary's argument,
// "missing": a path, "failed": a path}) and returns what the script's handleSummary(input.data)
// returns, for k6 to write as it does. When the script exports no handleSummary() the result
// names only input.missing; when it throws, only input.failed, with the error. The script's
// summaryTrendStats and summaryTimeUnit stay; its scenarios and thresholds go.
func (a *Archive) SummaryArchive(input []byte) (*Archive, error) {
	at, err := layoutOf(a.Entry, summaryWrapperName, summaryInputName)
	if err != nil {
		return nil, err
	}
	opts, err := summaryOptions(a.Options)
	if err != nil {
		return nil, err
	}
	return a.wrapped(at, opts, summaryWrapper(a.Entry), tarFile{at.input, input})
}

// wrapped is the archive with wrapper as its entry, laid out by at: metadata.json gets opts, the
// script moves to its own path (see edit), and extra files are added.
func (a *Archive) wrapped(at wrapperLayout, opts json.RawMessage, wrapper []byte, extra ...tarFile) (*Archive, error) {
	script, hasEntry, err := entryScript(a.Tar, at.entry)
	if err != nil {
		return nil, err
	}
	if !hasEntry {
		extra = append(extra, tarFile{at.entry, script})
	}
	out, err := rewriteArchive(a.Tar, at.edit(opts, wrapper, script), extra)
	if err != nil {
		return nil, err
	}
	return ReadArchive(out)
}

// wrapperLayout is where a wrapped archive's files are: the wrapper (and its input, if any) go in
// the script's directory, so that the wrapper imports the script as k6 recorded it.
type wrapperLayout struct {
	entry, wrapper, input string // tar entries: "file/home/u/test.js", ".../__stampede_summary.js", ...
	wrapperURL            string // the wrapper as metadata.json's filename: "file:///home/u/__stampede_summary.js"
}

// layoutOf places a wrapper named wrapperName (and its input inputName, unless "") beside entry, a
// file:// or https:// URL; any other entry is ErrBadArchive.
func layoutOf(entry, wrapperName, inputName string) (wrapperLayout, error) {
	u, err := url.Parse(entry)
	if err != nil || (u.Scheme != "file" && u.Scheme != "https") || u.Path == "" {
		return wrapperLayout{}, fmt.Errorf("%w: entry %q is not a file:// or https:// URL", ErrBadArchive, entry)
	}
	entryTar := u.Scheme + "/" + strings.TrimPrefix(path.Join(u.Host, u.Path), "/")
	dirURL := *u
	dirURL.Path = path.Dir(u.Path)
	l := wrapperLayout{
		entry:      entryTar,
		wrapper:    path.Join(path.Dir(entryTar), wrapperName),
		wrapperURL: dirURL.JoinPath(wrapperName).String(),
	}
	if inputName != "" {
		l.input = path.Join(path.Dir(entryTar), inputName)
	}
	return l, nil
}

// entryScript is the script of the archive ("data") and whether the archive also has an entry at
// the script's own path: k6 links that path to data; an archive made otherwise may not.
func entryScript(tarData []byte, entryTar string) (script []byte, hasEntry bool, err error) {
	err = eachEntry(tarData, func(name string, body []byte) {
		switch name {
		case "data":
			script = body
		case entryTar:
			hasEntry = true
		}
	})
	if err != nil {
		return nil, false, err
	}
	return script, hasEntry, nil
}

// summaryWrapper is the summary archive's entry: it imports the script at entry, runs an iteration
// that does nothing, and its handleSummary() answers as SummaryArchive says.
func summaryWrapper(entry string) []byte {
	return fmt.Appendf(nil, `// Code generated by stampede for handleSummary(). DO NOT EDIT.
import * as script from %[1]s;

const input = JSON.parse(open(%[2]s));

export default function () {}

export function handleSummary() {
  if (typeof script.handleSummary !== "function") {
    return { [input.missing]: "" };
  }
  try {
    return script.handleSummary(input.data);
  } catch (e) {
    return { [input.failed]: String(e && e.stack ? e.stack : e) };
  }
}
`, strconv.Quote(entry), strconv.Quote("./"+summaryInputName))
}

// summaryOptions are the summary archive's options: one VU running one iteration, and of the
// script's recorded options (orig) only summaryTrendStats and summaryTimeUnit. Options that do not
// decode count as none.
func summaryOptions(orig json.RawMessage) (json.RawMessage, error) {
	var recorded map[string]any
	if err := json.Unmarshal(orig, &recorded); err != nil {
		recorded = map[string]any{}
	}
	opts := map[string]any{
		"scenarios": map[string]any{"summary": map[string]any{"executor": "shared-iterations", "vus": 1, "iterations": 1}},
	}
	for _, k := range []string{"summaryTrendStats", "summaryTimeUnit"} {
		if v, ok := recorded[k]; ok {
			opts[k] = v
		}
	}
	return json.Marshal(opts)
}

// edit is rewriteArchive's edit that turns the script's archive into a wrapped one: metadata.json
// gets opts and names the wrapper as the entry, data becomes the wrapper, the script's path (a link
// to data) gets the script itself, and entries already at the wrapper's or the input's path go.
func (at wrapperLayout) edit(opts json.RawMessage, wrapper, script []byte) func(string, []byte) ([]byte, bool, error) {
	filename, _ := json.Marshal(at.wrapperURL)
	return func(name string, body []byte) ([]byte, bool, error) {
		switch name {
		case "metadata.json":
			return editMetadata(body, func(meta map[string]json.RawMessage) {
				meta["options"] = opts
				meta["filename"] = filename
			})
		case "data":
			return wrapper, true, nil
		case at.entry:
			return script, true, nil
		case at.wrapper, at.input:
			return nil, false, nil
		}
		return body, true, nil
	}
}

// Contains reports whether the script or one of its modules and files contains s.
func (a *Archive) Contains(s string) bool {
	found := false
	_ = eachEntry(a.Tar, func(name string, body []byte) {
		found = found || name != "metadata.json" && bytes.Contains(body, []byte(s))
	})
	return found
}
