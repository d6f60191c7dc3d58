// Command stampede-probe is the images' health check and the chart's `helm test`: the images hold no
// shell and no curl, so a container runtime's HEALTHCHECK (Docker Compose's healthcheck:) and the
// test pod run this instead:
//
//	stampede-probe http://127.0.0.1:9100/readyz
//	stampede-probe --wait 60s --token-env WEB_TOKEN --workers 2 http://lt-stampede:8089/api/v1/workers
//
// It exits 0 when a GET of the URL answers with a 2xx status within --timeout, 1 otherwise, saying
// why on stderr, and 2 on bad usage. Flags come before the URL:
//
//   - --wait D tries again, once a second, until a try succeeds or D has passed since the first
//     (a try started before then gets its whole --timeout), saying on stderr why each try failed.
//     The default, 0, is one try.
//   - --token-env NAME sends the variable NAME as a bearer token (Authorization: Bearer $NAME),
//     so the token is never on a command line. NAME empty or unset is a usage error.
//   - --workers N reads the answer as a Stampede master's /api/v1/workers ({"workers": [{...,
//     "connected": true}]}, docs/api.md) and succeeds only when at least N workers are connected;
//     it then prints how many on stdout. Otherwise nothing is printed on success.
//
// Plain http only; it speaks HTTP/1.0 over one TCP connection, so the binary stays small (the net
// package, not net/http).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	// maxBody bounds a /api/v1/workers answer: some hundred bytes per worker.
	maxBody = 8 << 20
	// errorBody is how much of a non-2xx answer's body an error quotes.
	errorBody = 200
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)) }

const usage = "usage: stampede-probe [--timeout D] [--wait D] [--token-env NAME] [--workers N] http://HOST:PORT/PATH"

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	p, err := parse(args, getenv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "stampede-probe:", err)
		return 2
	}
	n, err := p.retry(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "stampede-probe:", err)
		return 1
	}
	if p.workers >= 0 {
		fmt.Fprintf(stdout, "connected workers: %d (want at least %d)\n", n, p.workers)
	}
	return 0
}

// A prober GETs one URL.
type prober struct {
	url     *url.URL
	timeout time.Duration // of one try
	wait    time.Duration // tries start until this long after the first; 0: one try
	pause   time.Duration // between tries
	token   string        // sent as a bearer token unless empty
	workers int           // connected workers the answer must list; -1: the body is not read
}

// parse reads the command line; getenv reads --token-env's variable.
func parse(args []string, getenv func(string) string, stderr io.Writer) (prober, error) {
	p := prober{pause: time.Second, workers: -1}
	fs := flag.NewFlagSet("stampede-probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	fs.DurationVar(&p.timeout, "timeout", 2*time.Second, "give up on one try after this long")
	fs.DurationVar(&p.wait, "wait", 0, "try again, once a second, until a try succeeds or this long has passed (0: one try)")
	tokenEnv := fs.String("token-env", "", "send the environment variable `NAME` as a bearer token")
	fs.Func("workers", "succeed only when the answer, a master's /api/v1/workers, lists at least `N` connected workers",
		func(s string) error {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return errors.New("want a whole number, 0 or more")
			}
			p.workers = n
			return nil
		})
	if err := fs.Parse(args); err != nil {
		return p, err
	}
	if fs.NArg() != 1 {
		return p, errors.New(usage)
	}
	if p.timeout <= 0 || p.wait < 0 {
		return p, fmt.Errorf("--timeout must be positive and --wait not negative, got %s and %s", p.timeout, p.wait)
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return p, fmt.Errorf("%q: want http://HOST:PORT/PATH", fs.Arg(0))
	}
	p.url = u
	if *tokenEnv != "" {
		p.token = getenv(*tokenEnv)
		switch {
		case p.token == "":
			return p, fmt.Errorf("--token-env %s: the variable is empty or unset", *tokenEnv)
		case strings.ContainsAny(p.token, "\r\n"):
			return p, fmt.Errorf("--token-env %s: the token holds a line break", *tokenEnv)
		}
	}
	return p, nil
}

// retry tries until one try succeeds or no more may start, saying on stderr why each failed. It
// returns the connected workers of the successful try.
func (p prober) retry(stderr io.Writer) (int, error) {
	end := time.Now().Add(p.wait)
	for try := 1; ; try++ {
		n, err := p.try()
		switch {
		case err == nil:
			return n, nil
		case p.wait == 0:
			return 0, err
		}
		fmt.Fprintf(stderr, "stampede-probe: try %d: %v\n", try, err)
		if time.Now().Add(p.pause).After(end) {
			return 0, fmt.Errorf("no try succeeded within --wait %s (%d tries)", p.wait, try)
		}
		time.Sleep(p.pause)
	}
}

// try GETs the URL once and checks the answer; with p.workers it returns the connected workers.
func (p prober) try() (int, error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("GET %s: %w", p.url, err) }
	host := p.url.Host
	if p.url.Port() == "" {
		host = net.JoinHostPort(p.url.Hostname(), "80")
	}
	deadline := time.Now().Add(p.timeout)
	conn, err := (&net.Dialer{Deadline: deadline}).Dial("tcp", host)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return fail(err)
	}
	req := fmt.Sprintf("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: stampede-probe\r\n", p.url.RequestURI(), p.url.Host)
	if p.token != "" {
		req += "Authorization: Bearer " + p.token + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return fail(err)
	}

	br := bufio.NewReader(conn)
	tp := textproto.NewReader(br)
	status, err := tp.ReadLine()
	if err != nil {
		return fail(err)
	}
	if !strings.HasPrefix(status, "HTTP/") {
		return fail(fmt.Errorf("not an HTTP answer: %q", status[:min(len(status), errorBody)]))
	}
	header, err := tp.ReadMIMEHeader()
	if err != nil {
		return fail(fmt.Errorf("%s: %w", status, err))
	}
	if _, code, _ := strings.Cut(status, " "); !strings.HasPrefix(code, "2") {
		if text := quote(br, header); text != "" {
			status += ": " + text
		}
		return fail(errors.New(status))
	}
	if p.workers < 0 {
		return 0, nil // a health check: the status says it all
	}
	body, err := readBody(br, header)
	if err != nil {
		return fail(err)
	}
	n, err := connectedWorkers(body)
	if err != nil {
		return fail(err)
	}
	if n < p.workers {
		return 0, fmt.Errorf("GET %s: %d of %d workers connected", p.url, n, p.workers)
	}
	return n, nil
}

// quote is the start of a failed answer's body, on one line: it usually says why (a 401's "missing
// or wrong token"). Reading it is best effort.
func quote(r io.Reader, header textproto.MIMEHeader) string {
	limit := int64(errorBody)
	if n, err := strconv.ParseInt(header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		limit = min(limit, n)
	}
	b, _ := io.ReadAll(io.LimitReader(r, limit))
	return strings.Join(strings.Fields(string(b)), " ")
}

// readBody reads Content-Length bytes, or up to the end of the connection when the answer does not
// say (HTTP/1.0), at most maxBody.
func readBody(r io.Reader, header textproto.MIMEHeader) ([]byte, error) {
	if te := header.Get("Transfer-Encoding"); te != "" {
		return nil, fmt.Errorf("the answer has Transfer-Encoding %s, which an HTTP/1.0 client does not read", te)
	}
	cl := header.Get("Content-Length")
	if cl == "" {
		b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
		if err == nil && len(b) > maxBody {
			err = fmt.Errorf("the answer is over %d bytes", maxBody)
		}
		return b, err
	}
	n, err := strconv.ParseInt(cl, 10, 64)
	switch {
	case err != nil || n < 0:
		return nil, fmt.Errorf("bad Content-Length %q", cl)
	case n > maxBody:
		return nil, fmt.Errorf("the answer is %d bytes, over %d", n, maxBody)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("reading %d bytes of body: %w", n, err)
	}
	return b, nil
}

// connectedWorkers counts the workers with "connected": true in a /api/v1/workers answer.
func connectedWorkers(body []byte) (int, error) {
	var answer struct {
		Workers *[]struct {
			Connected bool `json:"connected"`
		} `json:"workers"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return 0, fmt.Errorf("the answer is not a master's worker list: %w", err)
	}
	if answer.Workers == nil {
		return 0, errors.New(`the answer has no "workers" list: is the URL a master's /api/v1/workers?`)
	}
	n := 0
	for _, w := range *answer.Workers {
		if w.Connected {
			n++
		}
	}
	return n, nil
}
