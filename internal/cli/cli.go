// Package cli holds what Stampede's commands share about their command lines and processes:
// environment fallbacks for flags (read from an environment given as a value), repeatable
// KEY=VALUE flags, logging setup, and the cleanups a command runs as it ends. Its functions are
// safe for concurrent use, as they touch only what they are given; a Closers value is not.
package cli

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// ApplyEnv sets every flag of fs that was not given on the command line from the environment
// variable STAMPEDE_<FLAG> (upper case, dashes as underscores), so Helm can configure by env while an
// explicit flag still wins. Single-letter aliases are skipped.
func ApplyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	// A shorthand (-u) and its long name (--users) share one variable: either given counts for both.
	set := map[uintptr]bool{}
	fs.Visit(func(f *flag.Flag) { set[target(f)] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[target(f)] || len(f.Name) == 1 {
			return
		}
		key := EnvName(f.Name)
		v, ok := lookup(key)
		if !ok {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: %w", key, v, e)
		}
	})
	return err
}

// target identifies the variable behind a flag (every flag.Value of the standard library is a
// pointer or a map).
func target(f *flag.Flag) uintptr { return reflect.ValueOf(f.Value).Pointer() }

// EnvName is the environment variable that backs a flag: users -> STAMPEDE_USERS.
func EnvName(flagName string) string {
	return "STAMPEDE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// KeyValues is a repeatable KEY=VALUE flag; in the environment it takes comma-separated pairs.
type KeyValues map[string]string

func (kv KeyValues) String() string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k+"="+kv[k])
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// Set adds one KEY=VALUE (or several, comma-separated, when they come from the environment).
func (kv KeyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	kv[k] = v
	return nil
}

// Strings is a repeatable flag. From the environment it takes one value per line, since values
// such as thresholds may contain commas.
type Strings []string

func (s *Strings) String() string { return strings.Join(*s, "\n") }

// Set adds a value (or, with newlines, several).
func (s *Strings) Set(v string) error {
	for _, line := range strings.Split(v, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			*s = append(*s, line)
		}
	}
	return nil
}

// List is a repeatable flag whose values may also be comma-separated (or, from the environment,
// one per line): --tags read,write is --tags read --tags write.
type List []string

func (l *List) String() string { return strings.Join(*l, ",") }

// Set adds the comma- or newline-separated values of v; empty ones are dropped.
func (l *List) Set(v string) error {
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}

// NewLogger returns a text logger on w at the named level (debug, info, warn, error).
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// EpochFlag defines --epoch on fs: the time, in Unix seconds, given to everything a build writes
// (usage says what), so the same inputs give the same bytes. Its default is $SOURCE_DATE_EPOCH
// (reproducible-builds.org), else 0; a malformed $SOURCE_DATE_EPOCH is an error.
func EpochFlag(fs *flag.FlagSet, usage string, getenv func(string) string) (*int64, error) {
	var def int64
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want Unix seconds", s)
		}
		def = n
	}
	return fs.Int64("epoch", def, usage+" in Unix seconds (default $SOURCE_DATE_EPOCH, else 0)"), nil
}
