package cli

import (
	"slices"
	"testing"
)

func TestLookupEnv(t *testing.T) {
	t.Parallel()
	environ := []string{"A=1", "EMPTY=", "B=x=y", "NOEQUALS", "A=second"}
	tests := []struct {
		key    string
		want   string
		wantOK bool
	}{
		{"A", "1", true}, // the first, as os.Environ has each key once and os.LookupEnv reads it
		{"EMPTY", "", true},
		{"B", "x=y", true},
		{"NOEQUALS", "", false},
		{"MISSING", "", false},
		{"a", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			if v, ok := (Process{Environ: environ}).LookupEnv(tt.key); v != tt.want || ok != tt.wantOK {
				t.Errorf("LookupEnv(%q) = %q, %v; want %q, %v", tt.key, v, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestClosers(t *testing.T) {
	t.Parallel()
	var c Closers
	var order []int
	for i := range 3 {
		c.OnClose(func() { order = append(order, i) })
	}
	c.Close()
	c.Close() // nothing more: each runs once
	if !slices.Equal(order, []int{2, 1, 0}) {
		t.Errorf("closed in order %v, want [2 1 0]", order)
	}
}
