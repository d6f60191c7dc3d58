// Command stampede-probe is the images' health check: the images hold no shell and no curl, so a
// container runtime's HEALTHCHECK (Docker Compose's healthcheck:) runs this instead:
//
//	stampede-probe http://127.0.0.1:9100/readyz
//
// It exits 0 when a GET of the URL answers with a 2xx status within --timeout, 1 otherwise, saying
// why on stderr. Plain http only; it speaks HTTP/1.0 over one TCP connection, so the binary stays
// small (the net package, not net/http).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("stampede-probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: stampede-probe [--timeout D] http://HOST:PORT/PATH")
		return 2
	}
	if err := probe(fs.Arg(0), *timeout); err != nil {
		fmt.Fprintln(stderr, "stampede-probe:", err)
		return 1
	}
	return 0
}

func probe(rawURL string, timeout time.Duration) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q: want http://HOST:PORT/PATH", rawURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	conn, err := net.DialTimeout("tcp", host, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: stampede-probe\r\n\r\n", u.RequestURI(), u.Host); err != nil {
		return err
	}
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	status = strings.TrimSpace(status)
	if _, code, ok := strings.Cut(status, " "); !ok || !strings.HasPrefix(code, "2") {
		return fmt.Errorf("GET %s: %s", rawURL, status)
	}
	return nil
}
