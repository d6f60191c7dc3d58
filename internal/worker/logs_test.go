package worker

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
)

func TestLogLimiter(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name  string
		rate  int
		times []time.Time
		want  []bool
	}{
		{name: "within the rate", rate: 3, times: []time.Time{ms(0), ms(10), ms(20)}, want: []bool{true, true, true}},
		{name: "over the rate in one second", rate: 2, times: []time.Time{ms(0), ms(1), ms(2), ms(999)},
			want: []bool{true, true, false, false}},
		{name: "a new window after a second", rate: 1, times: []time.Time{ms(0), ms(500), ms(1000), ms(1001)},
			want: []bool{true, false, true, false}},
		{name: "the window starts at the first line after a pause", rate: 1,
			times: []time.Time{ms(0), ms(5000), ms(5999), ms(6000)}, want: []bool{true, true, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := logLimiter{rate: tt.rate}
			for i, at := range tt.times {
				if got := l.allow(at); got != tt.want[i] {
					t.Errorf("line %d at +%s: allow = %v, want %v", i, at.Sub(t0), got, tt.want[i])
				}
			}
		})
	}
}

// recordingSession keeps the Logs events the worker sends.
type recordingSession struct {
	fakeSession
	mu   sync.Mutex
	logs []protocol.Logs
}

func (s *recordingSession) Send(ev protocol.Event) error {
	if l, ok := ev.(protocol.Logs); ok {
		s.mu.Lock()
		s.logs = append(s.logs, l)
		s.mu.Unlock()
	}
	return nil
}

// sentLogs waits up to 10 s for the first Logs event and returns what was sent by then.
func sentLogs(sess *recordingSession) []protocol.Logs {
	deadline := time.Now().Add(10 * time.Second)
	for {
		sess.mu.Lock()
		got := append([]protocol.Logs(nil), sess.logs...)
		sess.mu.Unlock()
		if len(got) > 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A burst over the limit reaches the master as the first LogRate lines and a marker with the count.
func TestLogSinkMarksDroppedLines(t *testing.T) {
	t.Parallel()
	w, err := New(Options{Exe: "k6", Dir: t.TempDir(), LogRate: 5})
	if err != nil {
		t.Fatal(err)
	}
	sess := &recordingSession{}
	w.sess = sess
	sink := w.logSink("run-1")
	for range 12 {
		sink(protocol.LogLine{Time: time.Now(), Level: "info", Message: "hello", Source: "console"})
	}
	got := sentLogs(sess)
	if len(got) != 1 {
		t.Fatalf("%d Logs events, want 1 (the burst fits in one 250 ms batch)", len(got))
	}
	ev := got[0]
	if ev.Dropped != 7 || len(ev.Lines) != 6 {
		t.Fatalf("dropped %d, %d lines; want 7 dropped, 5 lines and a marker", ev.Dropped, len(ev.Lines))
	}
	marker := ev.Lines[5]
	if marker.Message != "7 log lines dropped (limit 5/s)" || marker.Source != "stampede" || marker.Level != "warning" {
		t.Errorf("marker %+v", marker)
	}
	if n := w.Snapshot().DroppedLogs; n != 7 {
		t.Errorf("Snapshot().DroppedLogs = %d, want 7", n)
	}
}

// k6's cardinality warning passes even when the script's own lines have used up the rate; a script
// line that only quotes it does not.
func TestLogSinkPassesVitalLines(t *testing.T) {
	t.Parallel()
	w, err := New(Options{Exe: "k6", Dir: t.TempDir(), LogRate: 2})
	if err != nil {
		t.Fatal(err)
	}
	sess := &recordingSession{}
	w.sess = sess
	sink := w.logSink("run-1")
	const warning = "The test has generated metrics with 100001 unique time series, which is higher than the suggested limit of 100000 and could cause high memory usage."
	for range 5 {
		sink(protocol.LogLine{Time: time.Now(), Level: "warning", Message: "Request Failed", Source: "k6"})
	}
	sink(protocol.LogLine{Time: time.Now(), Level: "info", Message: warning, Source: "console"})
	sink(protocol.LogLine{Time: time.Now(), Level: "warning", Message: warning, Source: "k6"})
	got := sentLogs(sess)
	if len(got) != 1 {
		t.Fatalf("%d Logs events, want 1", len(got))
	}
	var msgs []string
	for _, l := range got[0].Lines {
		msgs = append(msgs, l.Source+": "+l.Message)
	}
	want := []string{"k6: Request Failed", "k6: Request Failed", "k6: " + warning, "stampede: 4 log lines dropped (limit 2/s)"}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines sent:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}
