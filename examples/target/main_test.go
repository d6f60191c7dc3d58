package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		want        config
		wantErr     error
		wantErrText string
	}{
		{name: "defaults", want: config{listen: "127.0.0.1:8080", maxSlow: 30 * time.Second, maxCPU: time.Second}},
		{name: "flags", args: []string{"--listen", "127.0.0.1:0", "--max-slow", "5s"},
			want: config{listen: "127.0.0.1:0", maxSlow: 5 * time.Second, maxCPU: time.Second}},
		{name: "max cpu flag", args: []string{"--max-cpu-ms", "250"},
			want: config{listen: "127.0.0.1:8080", maxSlow: 30 * time.Second, maxCPU: 250 * time.Millisecond}},
		{name: "env fallback",
			env:  map[string]string{"STAMPEDE_TARGET_LISTEN": ":9000", "STAMPEDE_TARGET_MAX_SLOW": "1m", "STAMPEDE_TARGET_MAX_CPU_MS": "5000"},
			want: config{listen: ":9000", maxSlow: time.Minute, maxCPU: 5 * time.Second}},
		{name: "flag wins over env", args: []string{"-listen=127.0.0.1:1"},
			env:  map[string]string{"STAMPEDE_TARGET_LISTEN": ":9000"},
			want: config{listen: "127.0.0.1:1", maxSlow: 30 * time.Second, maxCPU: time.Second}},
		{name: "empty env is unset", env: map[string]string{"STAMPEDE_TARGET_LISTEN": ""},
			want: config{listen: "127.0.0.1:8080", maxSlow: 30 * time.Second, maxCPU: time.Second}},
		{name: "bad env value", env: map[string]string{"STAMPEDE_TARGET_MAX_SLOW": "forever"},
			wantErr: errUsage, wantErrText: "STAMPEDE_TARGET_MAX_SLOW"},
		{name: "bad flag value", args: []string{"--max-slow", "10"}, wantErr: errUsage},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: errUsage},
		{name: "zero max slow", args: []string{"--max-slow", "0s"}, wantErr: errUsage, wantErrText: "positive"},
		{name: "zero max cpu", args: []string{"--max-cpu-ms", "0"}, wantErr: errUsage, wantErrText: "--max-cpu-ms must be from 1 to"},
		{name: "max cpu past a Duration", args: []string{"--max-cpu-ms", "9223372036855"}, wantErr: errUsage, wantErrText: "got 9223372036855"},
		{name: "bad max cpu env", env: map[string]string{"STAMPEDE_TARGET_MAX_CPU_MS": "1s"},
			wantErr: errUsage, wantErrText: "STAMPEDE_TARGET_MAX_CPU_MS"},
		{name: "stray argument", args: []string{"extra"}, wantErr: errUsage},
		{name: "help", args: []string{"-h"}, wantErr: flag.ErrHelp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tt.env[k] }
			got, err := parseConfig(tt.args, getenv, io.Discard)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !regexp.MustCompile(regexp.QuoteMeta(tt.wantErrText)).MatchString(err.Error()) {
					t.Errorf("err = %q, want it to mention %q", err, tt.wantErrText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestRun starts the real server the way scripts do and checks the stdout
// contract, that it serves, and that it stops when its context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdoutR, stdoutW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"--listen", "127.0.0.1:0"}, func(string) string { return "" }, stdoutW, io.Discard)
		_ = stdoutW.CloseWithError(io.EOF)
		done <- err
	}()

	sc := bufio.NewScanner(stdoutR)
	if !sc.Scan() {
		t.Fatalf("no line on stdout: %v; run: %v", sc.Err(), <-done)
	}
	m := regexp.MustCompile(`^target listening on (http://127\.0\.0\.1:[1-9][0-9]*)$`).FindStringSubmatch(sc.Text())
	if m == nil {
		t.Fatalf("stdout line = %q", sc.Text())
	}
	resp, err := http.Get(m[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("GET /healthz = %d %q", resp.StatusCode, body)
	}

	cancel()
	// Drain stdout concurrently: run closes it only after it returns.
	rest := make(chan []string, 1)
	go func() {
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		rest <- lines
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run = %v, want nil after the context ends", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if lines := <-rest; len(lines) != 0 {
		t.Errorf("more stdout lines %q; want exactly one", lines)
	}
}
