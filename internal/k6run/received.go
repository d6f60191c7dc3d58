package k6run

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.k6.io/k6/metrics"

	"github.com/stampede-load/stampede/internal/stats"
)

// vuTag is k6's system tag with the VU's id. It is metadata, not an indexed tag: it makes no time
// series, and thresholds cannot select on it.
const vuTag = "vu"

// iterations gives each request row the bytes its requests received, as far as k6 lets that be
// known exactly.
//
// k6 v1.8.1 measures no size per request. It counts bytes below HTTP: every connection a VU dials
// is wrapped (lib/netext.Conn) and adds what it reads to a counter of the VU's, which the VU emits
// as one data_received sample at the end of each iteration, with the VU's tags, and zeroes
// (js/runner.go, runFn). So what a VU read is known per iteration: the bytes of every response of
// the iteration as they came off the socket (status lines, headers, bodies as sent, compressed or
// chunked, TLS records and handshakes of the connections the iteration opened).
//
// An iteration whose HTTP requests all fell under one row (stats.Key) gives that row its bytes and
// its number of requests: exact. An iteration with requests under several rows, or with WebSocket
// or gRPC traffic (which reads through the same counter), cannot be split without guessing, so its
// bytes count only in the totals (data_received). So does an iteration without a request.
//
// Telling whose iteration a data_received sample closes needs the VU's id on the samples: the child
// runs with the vu system tag on (see systemTagArgs). k6 sends every sample through one channel,
// so each VU's requests reach the output before the data_received of their iteration. Without the
// tag (a script whose systemTags leave out vu) nothing is sized.
//
// Not safe for concurrent use; the output calls it under its mutex.
type iterations map[string]*iteration // by VU id

// iteration is what one VU's current iteration did so far.
type iteration struct {
	key      stats.Key // the row of its requests, while there is one
	requests uint64
	mixed    bool // requests under several rows, or other network traffic
}

// request records one HTTP request of the iteration vu is in.
func (its iterations) request(vu string, k stats.Key) {
	it := its.get(vu)
	switch {
	case it.requests == 0:
		it.key = k
	case it.key != k:
		it.mixed = true
	}
	it.requests++
}

// observe notes what sample s says about its VU's iteration: data_received ends it, filing its
// bytes in d if they belong to one row; WebSocket and gRPC samples make its bytes unattributable.
func (its iterations) observe(d *stats.Delta, s metrics.Sample) {
	vu, ok := s.Metadata[vuTag]
	if !ok {
		return
	}
	switch name := s.Metric.Name; {
	case name == metrics.DataReceivedName:
		it := its.get(vu)
		if !it.mixed && s.Value >= 0 {
			d.AddReceived(it.key, it.requests, uint64(s.Value))
		}
		*it = iteration{}
	case strings.HasPrefix(name, "ws_"), strings.HasPrefix(name, "grpc_"):
		its.get(vu).mixed = true
	}
}

func (its iterations) get(vu string) *iteration {
	it := its[vu]
	if it == nil {
		it = new(iteration)
		its[vu] = it
	}
	return it
}

// configName is the k6 configuration file Start writes into the child's directory.
const configName = ".stampede-k6-config.json"

// systemTagArgs returns the k6 flags that turn on the vu system tag for the child of entry and
// leave the test's other system tags as they would have been, writing what they need into dir.
//
// A flag would override a script's own systemTags option, so for a script the tags go into a
// configuration file, which k6 ranks below the script: k6's default tags plus vu, unless the script
// chose its own. A k6 archive records the tags consolidated when it was made, which outrank the
// file, so for an archive the flag names those tags plus vu.
func systemTagArgs(dir, entry string) ([]string, error) {
	if !filepath.IsAbs(entry) {
		entry = filepath.Join(dir, entry) // as the child, which runs in dir, finds it
	}
	tags, isArchive := archiveSystemTags(entry)
	set := metrics.DefaultSystemTagSet
	if tags != nil {
		set = *metrics.ToSystemTagSet(*tags)
	}
	if isArchive {
		if set.Has(metrics.TagVU) {
			return nil, nil
		}
		set.Add(metrics.TagVU)
		return []string{"--system-tags", set.SetString()}, nil
	}
	set.Add(metrics.TagVU)
	conf, err := json.Marshal(map[string]*metrics.SystemTagSet{"systemTags": &set})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, configName)
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		return nil, fmt.Errorf("k6 child: configuration: %w", err)
	}
	return []string{"--config", path}, nil
}

// archiveSystemTags reports whether entry is a k6 archive (k6's test: it starts with a tar header)
// and the system tags its metadata.json records; nil when it records none or cannot be read, which
// k6 then reports itself.
func archiveSystemTags(entry string) (tags *[]string, isArchive bool) {
	f, err := os.Open(entry)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil, isArchive
		}
		isArchive = true
		if hdr.Name != "metadata.json" {
			continue
		}
		var meta struct {
			Options struct {
				SystemTags *[]string `json:"systemTags"`
			} `json:"options"`
		}
		if err := json.NewDecoder(io.LimitReader(tr, 64<<20)).Decode(&meta); err != nil {
			return nil, true
		}
		return meta.Options.SystemTags, true
	}
}
