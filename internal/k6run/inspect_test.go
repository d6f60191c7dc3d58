package k6run

import (
	"errors"
	"testing"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		code int
		msg  string
		kind error
		want string
	}{
		{"syntax error", 107,
			"could not initialize '/tmp/x/syntax.js': could not load JS test 'file:///tmp/x/syntax.js': file:///tmp/x/syntax.js: Line 6:18 Unexpected token ; (and 1 more errors)",
			ErrScriptSyntax, "/tmp/x/syntax.js:6:18: Unexpected token ; (and 1 more errors)"},
		{"missing module", 107,
			`The moduleSpecifier "./nope.js" couldn't be found on local disk. Make sure that you've specified the right path to the file.`,
			ErrModuleNotFound, `The moduleSpecifier "./nope.js" couldn't be found on local disk. Make sure that you've specified the right path to the file.`},
		{"invalid options", 104, "unknown executor type 'no-such-executor'",
			ErrInvalidOptions, "unknown executor type 'no-such-executor'"},
		{"exception at init with a program counter", 107, "ReferenceError: foo is not defined\n\tat file:///tmp/x/a.js:3:1(4)",
			ErrScriptSyntax, "ReferenceError: foo is not defined\n\tat /tmp/x/a.js:3:1"},
		{"no message", 1, "", ErrScriptSyntax, "k6 inspect exited with code 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := classify(tc.code, tc.msg)
			if !errors.Is(err, tc.kind) {
				t.Errorf("error %v is not %v", err, tc.kind)
			}
			if err.Error() != tc.want {
				t.Errorf("message\n got %q\nwant %q", err.Error(), tc.want)
			}
		})
	}
}

func TestLastError(t *testing.T) {
	t.Parallel()
	stderr := []byte(`{"level":"info","msg":"starting"}
{"level":"error","msg":"could not load","error":"boom at line 3"}
{"level":"debug","msg":"after"}
`)
	if got := lastError(stderr); got != "boom at line 3" {
		t.Errorf("lastError = %q", got)
	}
	if got := lastError([]byte("plain text failure\n")); got != "plain text failure" {
		t.Errorf("lastError(plain) = %q", got)
	}
}
