package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrEmptySecret is returned when a secret's file holds nothing but white space.
var ErrEmptySecret = errors.New("the file is empty")

// Secret returns a secret given either as a flag's value or, better (a value shows in ps and in
// shell history), in a file, as Kubernetes mounts Secrets: FLAG-file. Surrounding white space in
// the file, such as a final newline, is dropped. flagName names the value's flag in errors.
func Secret(value, file, flagName string) (string, error) {
	switch {
	case file == "":
		return value, nil
	case value != "":
		return "", fmt.Errorf("--%s and --%s-file: give one, not both", flagName, flagName)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--%s-file: %w", flagName, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("--%s-file %s: %w", flagName, file, ErrEmptySecret)
	}
	return s, nil
}
