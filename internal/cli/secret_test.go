package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, blank := write("good", "  s3cret\n"), write("blank", " \n\t")
	cases := []struct {
		name, value, file, want, wantErr string
	}{
		{"neither", "", "", "", ""},
		{"value", "v", "", "v", ""},
		{"file, trimmed", "", good, "s3cret", ""},
		{"both", "v", good, "", "give one, not both"},
		{"missing file", "", filepath.Join(dir, "nope"), "", "--web-token-file"},
		{"blank file", "", blank, "", "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Secret(c.value, c.file, "web-token")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %q, %v; want an error with %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := Secret("", blank, "x"); !errors.Is(err, ErrEmptySecret) {
		t.Fatalf("blank file: %v, want ErrEmptySecret", err)
	}
}
