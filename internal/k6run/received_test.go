package k6run

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.k6.io/k6/lib/netext/httpext"
	"go.k6.io/k6/metrics"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
)

// sized is one row's sizes: requests sized and their bytes.
type sized struct{ requests, bytes uint64 }

// TestIterationsSizeRows feeds the output samples in the order k6 sends them and checks which rows
// get an iteration's bytes.
func TestIterationsSizeRows(t *testing.T) {
	t.Parallel()
	f := newFixture()
	received := f.reg.MustNewMetric(metrics.DataReceivedName, metrics.Counter, metrics.Data)
	ws := f.reg.MustNewMetric("ws_sessions", metrics.Counter)
	grpc := f.reg.MustNewMetric("grpc_req_duration", metrics.Trend, metrics.Time)
	req := func(vu, name, status string) metrics.SampleContainer {
		tr := &httpext.Trail{EndTime: f.t0, Duration: time.Millisecond,
			Tags: f.reg.RootTagSet().With("name", name).With("method", "GET").With("status", status)}
		if vu != "" {
			tr.Metadata = map[string]string{vuTag: vu}
		}
		return tr
	}
	withVU := func(s metrics.Sample, vu string) metrics.SampleContainer {
		if vu != "" {
			s.Metadata = map[string]string{vuTag: vu}
		}
		return s
	}
	end := func(vu string, bytes float64) metrics.SampleContainer {
		return withVU(f.sample(received, bytes), vu)
	}
	home := stats.Key{Name: "home", Method: "GET", Status: "200"}
	list := stats.Key{Name: "json", Method: "GET", Status: "200"}

	tests := []struct {
		name    string
		batches [][]metrics.SampleContainer // one AddMetricSamples call each, a flush after each
		want    map[stats.Key]sized
	}{
		{name: "one request per iteration, VUs interleaved", batches: [][]metrics.SampleContainer{{
			req("1", "home", "200"), req("2", "json", "200"), end("2", 900), end("1", 300)}},
			want: map[stats.Key]sized{home: {1, 300}, list: {1, 900}}},
		{name: "one row repeated", batches: [][]metrics.SampleContainer{{
			req("1", "home", "200"), req("1", "home", "200"), req("1", "home", "200"), end("1", 1200)}},
			want: map[stats.Key]sized{home: {3, 1200}}},
		{name: "two rows in one iteration", batches: [][]metrics.SampleContainer{{
			req("1", "home", "200"), req("1", "json", "200"), end("1", 1000)}}},
		{name: "two statuses in one iteration", batches: [][]metrics.SampleContainer{{
			req("1", "home", "200"), req("1", "home", "404"), end("1", 500)}}},
		{name: "WebSocket traffic", batches: [][]metrics.SampleContainer{{
			req("1", "home", "200"), withVU(f.sample(ws, 1), "1"), end("1", 5000)}}},
		{name: "gRPC traffic", batches: [][]metrics.SampleContainer{{
			withVU(f.sample(grpc, 3), "1"), req("1", "home", "200"), end("1", 5000)}}},
		{name: "another VU's WebSocket", batches: [][]metrics.SampleContainer{{
			req("1", "home", "200"), withVU(f.sample(ws, 1), "2"), end("1", 300), end("2", 4000)}},
			want: map[stats.Key]sized{home: {1, 300}}},
		{name: "a mixed iteration leaves the next one alone", batches: [][]metrics.SampleContainer{{
			req("1", "home", "200"), req("1", "json", "200"), end("1", 1000), req("1", "home", "200"), end("1", 310)}},
			want: map[stats.Key]sized{home: {1, 310}}},
		{name: "an iteration without requests", batches: [][]metrics.SampleContainer{{
			end("1", 77), req("1", "home", "200"), end("1", 300)}},
			want: map[stats.Key]sized{home: {1, 300}}},
		{name: "an iteration across flushes", batches: [][]metrics.SampleContainer{
			{req("1", "home", "200")}, {req("1", "home", "200")}, {end("1", 640)}},
			want: map[stats.Key]sized{home: {2, 640}}},
		{name: "no vu tag", batches: [][]metrics.SampleContainer{{req("", "home", "200"), end("", 300)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := &streamOutput{cur: newDelta(f.t0)}
			var total stats.Delta
			var bytes float64
			for _, b := range tt.batches {
				o.AddMetricSamples(b)
				total.Merge(o.cur)
				o.cur = newDelta(f.t0)
				for _, c := range b {
					for _, s := range c.GetSamples() {
						if s.Metric == received {
							bytes += s.Value
						}
					}
				}
			}
			got := map[stats.Key]sized{}
			for k, e := range total.Entries {
				if e.SizedRequests > 0 || e.ReceivedBytes > 0 {
					got[k] = sized{e.SizedRequests, e.ReceivedBytes}
				}
			}
			if want := tt.want; !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
				t.Errorf("sized rows = %v, want %v", got, want)
			}
			if m := total.Metrics[metrics.DataReceivedName]; m == nil || m.Sum != bytes {
				t.Errorf("data_received = %+v, want every byte (%v) whatever the rows got", m, bytes)
			}
		})
	}
}

// sizeScript makes 2 requests of /big in iterations 0 and 3, one of /small in iterations 1 and 4,
// and one of each in iterations 2 and 5. SYSTEM_TAGS, if set, is the script's systemTags option.
const sizeScript = `
import http from 'k6/http';
import exec from 'k6/execution';

export const options = Object.assign({ vus: 2, iterations: 6 },
	__ENV.SYSTEM_TAGS ? { systemTags: __ENV.SYSTEM_TAGS.split(',') } : {});

export default function () {
	const get = (name) => http.get(__ENV.TARGET + '/' + name, { tags: { name: name } });
	switch (exec.scenario.iterationInTest % 3) {
	case 0: get('big'); get('big'); break;
	case 1: get('small'); break;
	default: get('small'); get('big');
	}
}
`

// TestChildSizesRequests runs real k6 children against a target whose responses have known sizes
// on the wire: a row's bytes are exactly its responses' in the iterations that made only that
// row's requests, and the vu tag that takes is added without dropping the test's own system tags.
func TestChildSizesRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real k6 children")
	}
	t.Parallel()
	body := map[string][]byte{"/big": bytes.Repeat([]byte("b"), 10_000), "/small": bytes.Repeat([]byte("s"), 100)}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(body[r.URL.Path])
	}))
	t.Cleanup(target.Close) // after the parallel subtests
	// Each response's size on the wire: status line, headers and body, as a keep-alive client reads them.
	wire := map[string]uint64{}
	for path := range body {
		wire[path] = responseBytes(t, target.URL+path)
	}
	big, small := stats.Key{Name: "big", Method: "GET", Status: "200"}, stats.Key{Name: "small", Method: "GET", Status: "200"}
	exactly := map[stats.Key]sized{big: {4, 4 * wire["/big"]}, small: {2, 2 * wire["/small"]}}
	const ownTags = "name,method,status" // no proto, no vu

	tests := []struct {
		name       string
		systemTags string // the script's systemTags option
		archive    bool   // run a k6 archive of the script
		want       map[stats.Key]sized
		protoTag   bool // the samples carry k6's default proto tag
	}{
		{name: "script", want: exactly, protoTag: true},
		// The script's own option wins over the configuration file; without vu, nothing is sized.
		{name: "script with its own system tags", systemTags: ownTags, want: map[stats.Key]sized{}},
		// An archive's recorded tags are kept, and vu added.
		{name: "archive with its own system tags", systemTags: ownTags, archive: true, want: exactly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exe, dir, entry := scriptDir(t, sizeScript)
			env := map[string]string{"TARGET": target.URL, "SYSTEM_TAGS": tt.systemTags}
			if tt.archive {
				entry = makeArchive(t, exe, dir, entry, env)
			}
			total := runChild(t, RunOptions{Exe: exe, Dir: dir, Entry: entry, Env: env,
				Submetrics: []string{"http_reqs{proto:HTTP/1.1}"}})

			got := map[stats.Key]sized{}
			for k, e := range total.Entries {
				if e.SizedRequests > 0 {
					got[k] = sized{e.SizedRequests, e.ReceivedBytes}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("sized rows = %v, want %v (responses: %v bytes on the wire)", got, tt.want, wire)
			}
			if e := total.Entries[big]; e == nil || e.Requests != 6 {
				t.Errorf("big: %+v, want 6 requests", e)
			}
			if e := total.Entries[small]; e == nil || e.Requests != 4 {
				t.Errorf("small: %+v, want 4 requests", e)
			}
			// Every byte k6 read is a response's: the model the sizes rest on.
			if m, want := total.Metrics[metrics.DataReceivedName], 6*wire["/big"]+4*wire["/small"]; m == nil || m.Sum != float64(want) {
				t.Errorf("data_received = %+v, want %d", m, want)
			}
			if m := total.Metrics["http_reqs{proto:HTTP/1.1}"]; (m != nil && m.Count == 10) != tt.protoTag {
				t.Errorf("samples tagged proto: %+v; want them tagged: %v (the test's system tags must stay its own)", m, tt.protoTag)
			}
		})
	}
}

// responseBytes returns how many bytes a keep-alive client reads for one GET of url.
func responseBytes(t *testing.T, url string) uint64 {
	t.Helper()
	var n atomic.Uint64
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return countingConn{c, &n}, err
	}}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return n.Load()
}

type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(uint64(n))
	return n, err
}

// makeArchive runs `k6 archive` on entry with env and returns the archive's path.
func makeArchive(t *testing.T, exe, dir, entry string, env map[string]string) string {
	t.Helper()
	out := filepath.Join(dir, "archive.tar")
	args := []string{Subcommand, "archive", "--quiet", "-O", out}
	for k, v := range env {
		args = append(args, "--env", k+"="+v)
	}
	cmd := exec.Command(exe, append(args, entry)...)
	cmd.Dir, cmd.Env = dir, childEnv(dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("k6 archive: %v\n%s", err, b)
	}
	return out
}

// runChild runs a k6 child to the end of its test and returns every delta it sent, merged.
func runChild(t *testing.T, opts RunOptions) *stats.Delta {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		logMu sync.Mutex
		logs  []string
	)
	opts.Logs = func(l protocol.LogLine) {
		logMu.Lock()
		defer logMu.Unlock()
		logs = append(logs, l.Level+": "+l.Message)
	}
	logged := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return strings.Join(logs, "\n")
	}
	child, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer child.Kill()
	total, read := mergeDeltas(child)
	if err := child.WaitReady(ctx); err != nil {
		t.Fatalf("child not ready: %v\n%s", err, logged())
	}
	if err := child.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		s, err := child.Status(ctx)
		if err == nil && s.Ended() {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the test did not end: %v\n%s", ctx.Err(), logged())
		case <-child.Exited():
			t.Fatalf("the child exited early:\n%s", logged())
		case <-time.After(50 * time.Millisecond):
		}
	}
	child.Terminate(30 * time.Second)
	<-read
	return total
}

// TestSystemTagArgs checks the flags for each kind of entry.
func TestSystemTagArgs(t *testing.T) {
	t.Parallel()
	defaults := metrics.DefaultSystemTagSet.SetString()
	tests := []struct {
		name  string
		entry []byte // nil: a script
		meta  string // metadata.json of an archive
		want  []string
		conf  string // the configuration file's systemTags, when one is written
	}{
		{name: "script", entry: []byte("export default function () {}"), want: []string{"--config", configName},
			conf: defaults + ",vu"},
		{name: "archive with its tags", meta: `{"type":"js","options":{"systemTags":["name","status","ip"]}}`,
			want: []string{"--system-tags", "status,name,vu,ip"}},
		{name: "archive with vu already", meta: `{"options":{"systemTags":["name","vu"]}}`},
		{name: "archive with no tags at all", meta: `{"options":{"systemTags":[]}}`, want: []string{"--system-tags", "vu"}},
		{name: "archive without the option", meta: `{"options":{}}`, want: []string{"--system-tags", defaults + ",vu"}},
		{name: "archive with bad metadata", meta: `{"options":`, want: []string{"--system-tags", defaults + ",vu"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := tt.entry
			if data == nil {
				var b bytes.Buffer
				tw := tar.NewWriter(&b)
				for _, f := range [][2]string{{"metadata.json", tt.meta}, {"data", "export default function () {}"}} {
					if err := tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1]))}); err != nil {
						t.Fatal(err)
					}
					if _, err := tw.Write([]byte(f[1])); err != nil {
						t.Fatal(err)
					}
				}
				if err := tw.Close(); err != nil {
					t.Fatal(err)
				}
				data = b.Bytes()
			}
			if err := os.WriteFile(filepath.Join(dir, "entry"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := systemTagArgs(dir, "entry") // relative to dir, as the child finds it
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 2 && got[0] == "--config" {
				got[1] = strings.TrimPrefix(got[1], dir+string(filepath.Separator))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("flags %q, want %q", got, tt.want)
			}
			conf, err := os.ReadFile(filepath.Join(dir, configName))
			if tt.conf == "" {
				if err == nil {
					t.Errorf("a configuration file was written for an archive: %s", conf)
				}
				return
			}
			var c struct {
				SystemTags []string `json:"systemTags"`
			}
			if err != nil || json.Unmarshal(conf, &c) != nil {
				t.Fatalf("configuration file %q: %v", conf, err)
			}
			if got := metrics.ToSystemTagSet(c.SystemTags).SetString(); got != tt.conf {
				t.Errorf("configuration file's system tags %s, want %s", got, tt.conf)
			}
		})
	}
}
