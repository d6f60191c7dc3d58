package cli

import "strings"

// LookupEnv is os.LookupEnv on environ, a process's environment as os.Environ gives it (KEY=VALUE).
// Commands take their environment as a value, so that tests give them their own.
func LookupEnv(environ []string, key string) (string, bool) {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Closers are what a command undoes when it ends: Close calls the functions OnClose registered,
// the last first, as deferred calls would. Not safe for concurrent use.
type Closers struct{ fs []func() }

// OnClose has Close call f.
func (c *Closers) OnClose(f func()) { c.fs = append(c.fs, f) }

// Close calls the registered functions in reverse order, once each.
func (c *Closers) Close() {
	for i := len(c.fs) - 1; i >= 0; i-- {
		c.fs[i]()
	}
	c.fs = nil
}
