// Package version reports what a Stampede binary was built from: its version, the commit, the build
// date, the Go toolchain and the k6 engine compiled into it. `make build`, `make dist` and
// `make images` set the first three with -ldflags -X (see LDFLAGS in the Makefile); a plain
// `go build` in a git checkout still gets the commit and its date from the toolchain's VCS stamp.
//
// Everything here is read-only after start-up and safe for concurrent use.
package version

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Set with -ldflags "-X github.com/stampede-load/stampede/internal/version.commit=...". The date is
// the commit's time (SOURCE_DATE_EPOCH), not the clock's, so that a build is reproducible.
var (
	commit string
	date   string
)

// k6Module is the module whose version the binaries report as the embedded k6.
const k6Module = "go.k6.io/k6"

// Info is what a binary was built from. Empty fields are unknown.
type Info struct {
	Version string // "v0.2.0", "v0.2.0-3-gabc1234-dirty" or "dev"
	Commit  string // the full commit hash
	Date    string // RFC 3339, UTC: the commit's time
	Go      string // "go1.26.8"
	K6      string // "v1.8.1"
	// Modified is true when the tree had uncommitted changes at build time (VCS stamp only).
	Modified bool
}

// Get returns the Info of the running binary; version is the binary's own -X main.version.
func Get(version string) Info {
	info := Info{Version: version, Commit: commit, Date: date}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	info.Go = bi.GoVersion
	for _, d := range bi.Deps {
		if d.Path == k6Module {
			info.K6 = d.Version
			if d.Replace != nil {
				info.K6 = d.Replace.Version
			}
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if info.Commit == "" {
				info.Commit = s.Value
			}
		case "vcs.time":
			if info.Date == "" {
				info.Date = s.Value
			}
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is what --version prints: the name and version on the first line, one "key: value" line
// for each of the rest, "unknown" where the build did not record it.
func (i Info) String(name string) string {
	or := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	commit := or(i.Commit)
	if i.Modified {
		commit += " (modified)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", name, or(i.Version))
	fmt.Fprintf(&b, "  commit: %s\n", commit)
	fmt.Fprintf(&b, "  built:  %s\n", or(i.Date))
	fmt.Fprintf(&b, "  go:     %s\n", or(i.Go))
	fmt.Fprintf(&b, "  k6:     %s\n", or(i.K6))
	return b.String()
}
