package main

import (
	"bufio"
	"bytes"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cannedServer answers each connection on 127.0.0.1:0 with the next of its answers (the last one
// again once they run out), raw bytes as written, and records each request's head.
type cannedServer struct {
	url      string
	mu       sync.Mutex
	requests []string // one request head per connection, in order
}

// serveCanned starts a cannedServer. With keepOpen it leaves each connection open after answering,
// as an HTTP/1.1 server ignoring the client's HTTP/1.0 might, until the client closes it.
func serveCanned(t *testing.T, keepOpen bool, answers ...string) *cannedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	s := &cannedServer{url: "http://" + ln.Addr().String()}
	go func() {
		for i := 0; ; i++ {
			conn, err := ln.Accept()
			if err != nil {
				return // closed by the cleanup
			}
			s.answer(conn, answers[min(i, len(answers)-1)], keepOpen)
		}
	}()
	return s
}

func (s *cannedServer) answer(conn net.Conn, answer string, keepOpen bool) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var head strings.Builder
	tp := textproto.NewReader(bufio.NewReader(conn))
	for {
		line, err := tp.ReadLine()
		if err != nil || line == "" {
			break
		}
		head.WriteString(line + "\n")
	}
	s.mu.Lock()
	s.requests = append(s.requests, head.String())
	s.mu.Unlock()
	if answer == "" {
		_, _ = conn.Read(make([]byte, 1)) // no answer: wait for the client to give up
		return
	}
	_, _ = conn.Write([]byte(answer))
	if keepOpen {
		_, _ = conn.Read(make([]byte, 1))
	}
}

// seen is the request heads received so far.
func (s *cannedServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func workersJSON(connected ...bool) string {
	var b strings.Builder
	b.WriteString(`{"workers": [`)
	for i, c := range connected {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{"index": 0, "id": "vm_1", "host": "vm", "cpus": 2, "connected": `)
		if c {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
		b.WriteString(`, "state": "ready", "users": 0}`)
	}
	b.WriteString("]}\n")
	return b.String()
}

// ok10 is an HTTP/1.0 answer whose end is the end of the connection.
func ok10(body string) string {
	return "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body
}

// closedURL is an address nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr + "/healthz"
}

func TestRun(t *testing.T) {
	t.Parallel()
	const token = "s3cret-token"
	cases := []struct {
		name     string
		answers  []string // "" for none: the server reads the request and waits
		keepOpen bool
		args     []string // before the URL
		path     string   // the URL's path; "-" for no URL
		rawURL   string   // instead of the server's URL and path
		env      map[string]string
		code     int
		stdout   string
		stderr   string // in stderr; "" for an empty stderr
		requests int    // how many the server saw; -1 for any
		request  string // in the request's head
	}{
		{name: "2xx", answers: []string{"HTTP/1.0 200 OK\r\n\r\nok\n"}, path: "/readyz", code: 0, requests: 1,
			request: "GET /readyz HTTP/1.0\nHost: 127.0.0.1:"},
		{name: "2xx, HTTP/1.1, connection left open", answers: []string{"HTTP/1.1 204 No Content\r\n\r\n"}, keepOpen: true,
			path: "/readyz", code: 0, requests: 1},
		{name: "query kept", answers: []string{"HTTP/1.0 200 OK\r\n\r\n"}, path: "/x?a=1&b=2", code: 0, requests: 1,
			request: "GET /x?a=1&b=2 HTTP/1.0\n"},
		{name: "5xx quotes the body", answers: []string{"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 16\r\n\r\n{\"error\":\"down\"}garbage"},
			path: "/readyz", code: 1, stderr: `503 Service Unavailable: {"error":"down"}` + "\n", requests: 1},
		{name: "401 without a token", answers: []string{"HTTP/1.0 401 Unauthorized\r\n\r\n{\"error\": \"missing or wrong\n token\"}\n"},
			path: "/api/v1/workers", code: 1, stderr: `401 Unauthorized: {"error": "missing or wrong token"}`, requests: 1},
		{name: "not HTTP", answers: []string{"SSH-2.0-OpenSSH_9.2\r\n"}, path: "/", code: 1, stderr: `not an HTTP answer: "SSH-2.0-OpenSSH_9.2"`, requests: 1},
		{name: "no answer within --timeout", answers: []string{""}, args: []string{"--timeout", "200ms"},
			path: "/healthz", code: 1, stderr: "i/o timeout", requests: 1},

		{name: "the token from the environment", answers: []string{"HTTP/1.0 200 OK\r\n\r\n"}, args: []string{"--token-env", "WEB_TOKEN"},
			env: map[string]string{"WEB_TOKEN": token}, path: "/api/v1/workers", code: 0, requests: 1, request: "Authorization: Bearer " + token + "\n"},
		{name: "no token: no header", answers: []string{"HTTP/1.0 200 OK\r\n\r\n"}, path: "/", code: 0, requests: 1},
		{name: "token variable unset", answers: []string{"HTTP/1.0 200 OK\r\n\r\n"}, args: []string{"--token-env", "WEB_TOKEN"},
			path: "/", code: 2, stderr: "--token-env WEB_TOKEN: the variable is empty or unset", requests: 0},
		{name: "token with a line break", answers: []string{"HTTP/1.0 200 OK\r\n\r\n"}, args: []string{"--token-env", "T"},
			env: map[string]string{"T": "a\r\nX-Evil: 1"}, path: "/", code: 2, stderr: "--token-env T: the token holds a line break", requests: 0},

		{name: "enough workers", answers: []string{ok10(workersJSON(true, true, false))}, args: []string{"--workers", "2"},
			path: "/api/v1/workers", code: 0, stdout: "connected workers: 2 (want at least 2)\n", requests: 1},
		{name: "more workers than wanted", answers: []string{ok10(workersJSON(true, true, true))}, args: []string{"--workers", "1"},
			path: "/api/v1/workers", code: 0, stdout: "connected workers: 3 (want at least 1)\n", requests: 1},
		{name: "too few workers", answers: []string{ok10(workersJSON(true, false))}, args: []string{"--workers", "2"},
			path: "/api/v1/workers", code: 1, stderr: "/api/v1/workers: 1 of 2 workers connected\n", requests: 1},
		{name: "no workers wanted, an empty list", answers: []string{ok10(`{"workers": []}`)}, args: []string{"--workers", "0"},
			path: "/api/v1/workers", code: 0, stdout: "connected workers: 0 (want at least 0)\n", requests: 1},
		{name: "Content-Length, connection left open",
			answers:  []string{"HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(workersJSON(true))) + "\r\n\r\n" + workersJSON(true)},
			keepOpen: true, args: []string{"--workers", "1", "--timeout", "30s"}, path: "/api/v1/workers", code: 0, stdout: "connected workers: 1 (want at least 1)\n", requests: 1},
		{name: "not a worker list", answers: []string{ok10("ok\n")}, args: []string{"--workers", "0"},
			path: "/healthz", code: 1, stderr: "the answer is not a master's worker list", requests: 1},
		{name: "a JSON object without workers", answers: []string{ok10(`{"runs": []}`)}, args: []string{"--workers", "0"},
			path: "/api/v1/runs", code: 1, stderr: `the answer has no "workers" list`, requests: 1},
		{name: "chunked", answers: []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"}, args: []string{"--workers", "0"},
			path: "/api/v1/workers", code: 1, stderr: "Transfer-Encoding chunked", requests: 1},
		{name: "body cut short", answers: []string{"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n{}"}, args: []string{"--workers", "0"},
			path: "/api/v1/workers", code: 1, stderr: "reading 100 bytes of body: unexpected EOF", requests: 1},

		{name: "no URL", path: "-", code: 2, stderr: "usage: stampede-probe", requests: 0},
		{name: "https", rawURL: "https://example.test/", code: 2, requests: 0, stderr: `"https://example.test/": want http://HOST:PORT/PATH`},
		{name: "negative --workers", args: []string{"--workers", "-1"}, path: "/", code: 2, stderr: "want a whole number, 0 or more", requests: 0},
		{name: "negative --wait", args: []string{"--wait", "-1s"}, path: "/", code: 2, stderr: "--wait not negative", requests: 0},
		{name: "zero --timeout", args: []string{"--timeout", "0s"}, path: "/", code: 2, stderr: "--timeout must be positive", requests: 0},
		{name: "flag after the URL", args: []string{}, path: "/ --wait 1s", code: 2, stderr: "usage: stampede-probe", requests: 0},
		{name: "help", args: []string{"-h"}, path: "-", code: 0, stderr: "--token-env NAME", requests: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			answers := c.answers
			if answers == nil {
				answers = []string{"HTTP/1.0 200 OK\r\n\r\n"}
			}
			srv := serveCanned(t, c.keepOpen, answers...)
			args := append([]string(nil), c.args...)
			switch {
			case c.rawURL != "":
				args = append(args, c.rawURL)
			case c.path != "-":
				args = append(args, strings.Fields(srv.url+c.path)...)
			}
			var stdout, stderr bytes.Buffer
			code := run(args, func(k string) string { return c.env[k] }, &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, c.code, stderr.String())
			}
			if stdout.String() != c.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), c.stdout)
			}
			if c.stderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), c.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), c.stderr)
			}
			if strings.Contains(stderr.String(), token) {
				t.Errorf("stderr shows the token: %q", stderr.String())
			}
			// The server records a request before it answers, and run waits for the answer or
			// its timeout: every request sent is seen by now.
			reqs := srv.seen()
			if len(reqs) != c.requests {
				t.Fatalf("%d requests, want %d: %q", len(reqs), c.requests, reqs)
			}
			if c.requests == 0 {
				return
			}
			if !strings.Contains(reqs[0], c.request) {
				t.Errorf("request:\n%s\nwant it to contain %q", reqs[0], c.request)
			}
			if strings.Contains(reqs[0], "Authorization") != (c.env != nil) {
				t.Errorf("request:\n%s\nAuthorization header: want one only with a token", reqs[0])
			}
		})
	}
}

func TestNothingListening(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	if code := run([]string{closedURL(t)}, nil, &bytes.Buffer{}, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "connection refused") {
		t.Errorf("stderr %q, want it to say connection refused", stderr.String())
	}
}

// TestWait drives retry with a short pause: it retries failed tries, says why each failed, and
// stops at the first success or when --wait has passed.
func TestWait(t *testing.T) {
	t.Parallel()
	down := "HTTP/1.0 503 Service Unavailable\r\n\r\nstarting\n"
	cases := []struct {
		name     string
		answers  []string
		wait     time.Duration
		workers  int
		wantN    int
		wantErr  string // "" for success
		requests int    // -1: at least one
		stderr   []string
	}{
		{name: "one try by default", answers: []string{down, ok10("")}, wantErr: "503 Service Unavailable: starting", requests: 1},
		{name: "up on the third try", answers: []string{down, down, ok10("")}, wait: time.Minute, requests: 3,
			stderr: []string{"try 1: GET ", "503 Service Unavailable: starting", "try 2: "}},
		{name: "workers join", answers: []string{ok10(workersJSON()), ok10(workersJSON(true)), ok10(workersJSON(true, true))},
			wait: time.Minute, workers: 2, wantN: 2, requests: 3,
			stderr: []string{"try 1: GET ", ": 0 of 2 workers connected", "try 2: GET ", ": 1 of 2 workers connected"}},
		{name: "never up", answers: []string{down}, wait: 100 * time.Millisecond, wantErr: "no try succeeded within --wait 100ms (", requests: -1,
			stderr: []string{"try 1: GET ", "503 Service Unavailable: starting"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := serveCanned(t, false, c.answers...)
			args := []string{"--wait", c.wait.String(), srv.url + "/api/v1/workers"}
			if c.workers > 0 {
				args = append([]string{"--workers", strconv.Itoa(c.workers)}, args...)
			}
			p, err := parse(args, nil, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			p.pause = time.Millisecond
			var stderr bytes.Buffer
			n, err := p.retry(&stderr)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("retry: %v; stderr:\n%s", err, stderr.String())
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("retry: %v, want an error containing %q", err, c.wantErr)
			case n != c.wantN:
				t.Errorf("retry = %d connected, want %d", n, c.wantN)
			}
			if reqs := srv.seen(); len(reqs) != c.requests && !(c.requests == -1 && len(reqs) > 0) {
				t.Errorf("%d requests, want %d", len(reqs), c.requests)
			}
			for _, want := range c.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), want)
				}
			}
			if c.wait == 0 && stderr.Len() > 0 {
				t.Errorf("one try reported on stderr by retry itself: %q", stderr.String())
			}
		})
	}
}
