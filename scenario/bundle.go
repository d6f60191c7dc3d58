package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Ceilings on any bundle, checked by Validate where a bundle arrives (the worker) and by
// Limits.Validate for the limits an operator sets. A bundle travels in one gRPC message of at most
// 128 MiB, so the byte ceiling leaves room for the rest of the message.
const (
	MaxBundleFiles = 10000
	MaxBundleBytes = 100 << 20
)

// Limits bound what LoadBundle reads. They keep a script that opens a large data set from being
// shipped to every worker by mistake.
type Limits struct {
	Files int   // most files, the entry included
	Bytes int64 // most bytes, all files together
}

// DefaultLimits are LoadBundle's limits.
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
	// ErrNotFound means the entry script or a file it imports or opens does not exist.
	ErrNotFound = errors.New("file not found")
	// ErrTooLarge means the bundle is over its Limits (LoadBundle) or the ceilings (Validate).
	ErrTooLarge = errors.New("bundle too large")
	// ErrUnsafePath means a bundle path is empty, absolute or leaves the bundle root.
	ErrUnsafePath = errors.New("unsafe bundle path")
)

// Bundle is a script and the local files it needs, as the workers receive it.
type Bundle struct {
	Entry string            // slash-separated path of the entry script, relative to the bundle root
	Files map[string][]byte // slash-separated path relative to the bundle root -> content (includes Entry)
}

// LoadBundle reads the entry script at path and, recursively, every local
// file it needs: modules named by string literals in static and dynamic
// imports, `export ... from` and require(), and files read with open().
// Specifiers inside comments, template literals and variables are not seen.
//
// Local means relative (./, ../), absolute or file:// for modules; for
// open() every path that is not a URL is local, resolved against the
// directory of the file that calls open, as k6 does. k6 builtins ("k6",
// "k6/..."), remote URLs and bare module names are left to k6.
//
// The bundle root is the deepest directory that holds every file. Literal
// absolute paths and file:// URLs are rewritten in the bundled source to paths
// relative to their file (on the same line, so error positions still hold),
// so that the bundle still works once Written somewhere else.
//
// A missing file is reported with the file, line and specifier that named it
// (`examples/a.js:3: import "./lib/missing.js": file not found`) and matches
// ErrNotFound; bundles over the limits match ErrTooLarge. Import cycles are
// fine: each file is read once.
func LoadBundle(path string) (*Bundle, error) {
	return LoadBundleLimits(path, DefaultLimits)
}

// LoadBundleLimits is LoadBundle with other limits. Over a limit, the error (matching ErrTooLarge)
// names the limit and the biggest files read so far.
func LoadBundleLimits(path string, lim Limits) (*Bundle, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	return loadBundle(path, lim.Files, lim.Bytes)
}

// loadedFile is a file read by LoadBundle.
type loadedFile struct {
	data   []byte
	module bool          // scanned for references
	refs   []resolvedRef // local references, when module
}

type resolvedRef struct {
	ref
	target   string // absolute path
	absolute bool   // written as an absolute path or file:// URL
}

type loader struct {
	entryDir     string // absolute directory of the entry
	entryDirShow string // the same directory as the caller wrote it
	maxFiles     int
	maxBytes     int64
	total        int64
	files        map[string]*loadedFile // absolute path -> file
}

func loadBundle(entry string, maxFiles int, maxBytes int64) (*Bundle, error) {
	absEntry, err := filepath.Abs(entry)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", entry, err)
	}
	l := &loader{
		entryDir:     filepath.Dir(absEntry),
		entryDirShow: filepath.Dir(entry),
		maxFiles:     maxFiles,
		maxBytes:     maxBytes,
		files:        map[string]*loadedFile{},
	}
	if err := l.read(absEntry, true); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", entry, ErrNotFound)
		}
		return nil, fmt.Errorf("%s: %w", entry, err)
	}

	queue := []string{absEntry}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		f := l.files[name]
		for _, r := range findRefs(f.data) {
			target, absolute, ok := resolveRef(filepath.Dir(name), r)
			if !ok {
				continue
			}
			f.refs = append(f.refs, resolvedRef{ref: r, target: target, absolute: absolute})
			module := r.kind != refOpen
			if seen, ok := l.files[target]; ok {
				if module && !seen.module { // opened as data first, now imported
					seen.module = true
					queue = append(queue, target)
				}
				continue
			}
			if err := l.read(target, module); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					err = ErrNotFound
				}
				return nil, fmt.Errorf("%s:%d: %s %q: %w", l.show(name), r.line, r.kind, r.spec, err)
			}
			if module {
				queue = append(queue, target)
			}
		}
	}
	return l.bundle(absEntry)
}

// read loads the file at the absolute path name, within the limits.
func (l *loader) read(name string, module bool) error {
	if len(l.files) >= l.maxFiles {
		return fmt.Errorf("%w: more than the limit of %d files", ErrTooLarge, l.maxFiles)
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return err
	} else if st.IsDir() {
		return fmt.Errorf("%s is a directory", name)
	}
	left := l.maxBytes - l.total
	data, err := io.ReadAll(io.LimitReader(f, left+1))
	if err != nil {
		return err
	}
	if int64(len(data)) > left {
		size := int64(len(data))
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		return fmt.Errorf("%w: more than the limit of %s (%d bytes) in all; biggest files: %s", ErrTooLarge,
			FormatBytes(l.maxBytes), l.maxBytes, l.biggest(name, size))
	}
	l.total += int64(len(data))
	l.files[name] = &loadedFile{data: data, module: module}
	return nil
}

// biggest lists the three largest files read so far and the file being read (name, of size), for
// an over-the-limit message.
func (l *loader) biggest(name string, size int64) string {
	type sized struct {
		name string
		size int64
	}
	all := []sized{{name, size}}
	for n, f := range l.files {
		all = append(all, sized{n, int64(len(f.data))})
	}
	slices.SortFunc(all, func(a, b sized) int {
		if a.size != b.size {
			return int(min(max(b.size-a.size, -1), 1))
		}
		return strings.Compare(a.name, b.name)
	})
	var parts []string
	for _, f := range all[:min(len(all), 3)] {
		parts = append(parts, fmt.Sprintf("%s (%s)", l.show(f.name), FormatBytes(f.size)))
	}
	return strings.Join(parts, ", ")
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

// show names a file the way the caller named the entry, for messages.
func (l *loader) show(name string) string {
	rel, err := filepath.Rel(l.entryDir, name)
	if err != nil {
		return name
	}
	return filepath.Join(l.entryDirShow, rel)
}

// resolveRef returns the absolute path a reference from a file in dir names,
// and false when the reference is not to a local file.
func resolveRef(dir string, r ref) (target string, absolute, ok bool) {
	spec := r.spec
	if spec == "" {
		return "", false, false
	}
	if strings.Contains(spec, "://") {
		if !strings.HasPrefix(spec, "file://") {
			return "", false, false // remote, left to k6
		}
		if r.kind == refOpen { // k6's open strips the scheme and keeps the rest as a path
			spec = strings.TrimPrefix(spec, "file://")
		} else {
			u, err := url.Parse(spec)
			if err != nil || u.Path == "" {
				return "", false, false // k6 will say what is wrong with it
			}
			spec = u.Path
		}
		absolute = true
	} else if r.kind != refOpen && spec[0] != '.' && spec[0] != '/' {
		return "", false, false // "k6", "k6/http", bare names
	}
	p := filepath.FromSlash(spec)
	if filepath.IsAbs(p) {
		return filepath.Clean(p), true, true
	}
	return filepath.Join(dir, p), absolute, true
}

// bundle lays the loaded files out under their deepest common directory.
func (l *loader) bundle(absEntry string) (*Bundle, error) {
	names := slices.Sorted(maps.Keys(l.files))
	root := filepath.Dir(names[0])
	for _, n := range names[1:] {
		root = commonDir(root, filepath.Dir(n))
	}
	rel := func(name string) string {
		r, err := filepath.Rel(root, name)
		if err != nil { // cannot happen: root is an ancestor of name
			panic(err)
		}
		return filepath.ToSlash(r)
	}

	b := &Bundle{Entry: rel(absEntry), Files: make(map[string][]byte, len(names))}
	for _, n := range names {
		f := l.files[n]
		data := f.data
		if f.module {
			data = rewriteAbsolute(n, f)
		}
		b.Files[rel(n)] = data
	}
	return b, nil
}

// rewriteAbsolute replaces the absolute references in f (at name) with paths
// relative to name, so that they resolve wherever the bundle is written.
func rewriteAbsolute(name string, f *loadedFile) []byte {
	var out []byte
	last := 0
	for _, r := range f.refs {
		if !r.absolute {
			continue
		}
		rel, err := filepath.Rel(filepath.Dir(name), r.target)
		if err != nil {
			continue
		}
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, "../") {
			rel = "./" + rel
		}
		out = append(out, f.data[last:r.start]...)
		out = append(out, quoteJS(rel)...)
		last = r.end
	}
	if out == nil {
		return f.data
	}
	return append(out, f.data[last:]...)
}

// quoteJS returns s as a JavaScript string literal.
func quoteJS(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// commonDir returns the deepest directory containing both absolute directories a and b.
func commonDir(a, b string) string {
	for {
		if rel, err := filepath.Rel(a, b); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return a
		}
		parent := filepath.Dir(a)
		if parent == a {
			return a
		}
		a = parent
	}
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
