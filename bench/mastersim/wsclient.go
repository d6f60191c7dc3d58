package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// counts is what the delay measurement needs of one frame: the run it shows and how many requests
// of each simulated worker (by index) and in total it reflects.
type counts struct {
	RunID     string
	Total     uint64
	Rows      int
	PerWorker []uint64 // by simulated worker index; 0 for workers the frame does not list
}

// seen is one frame as a client received it.
type seen struct {
	Recv   time.Time // when the whole message had arrived
	Master time.Time // the frame's own time: when the master took its snapshot
	Type   string    // "snapshot" or "update"
	Size   int       // bytes
	Counts *counts   // shared by the clients that received the same snapshot
}

// wireFrame is the part of api.Frame the measurement reads (docs/api.md describes it all).
type wireFrame struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	Run  *struct {
		ID      string `json:"id"`
		Workers []struct {
			ID       string `json:"id"`
			Requests uint64 `json:"requests"`
		} `json:"workers"`
	} `json:"run"`
	Stats *struct {
		Totals struct {
			Requests uint64 `json:"requests"`
		} `json:"totals"`
		Rows []struct{} `json:"rows"`
	} `json:"stats"`
}

// decoder decodes each distinct frame once. Every client receives the same bytes for a tick (or the
// same snapshot as a full frame), so a frame is known by its type and time, which lead the JSON;
// decoding all of them fifty times over would cost the simulator, on the master's machine, more
// CPU than the master spends producing them.
type decoder struct {
	index map[string]int // worker id -> simulated worker index

	mu     sync.Mutex
	frames map[string]*decoded
}

type decoded struct {
	ready  chan struct{}
	counts *counts
	master time.Time
	err    error
}

func newDecoder(index map[string]int) *decoder {
	return &decoder{index: index, frames: map[string]*decoded{}}
}

// key finds the frame's type and time in its first bytes: {"type":"update","time":"...",...}.
func frameKey(prefix []byte) (string, bool) {
	t := bytes.Index(prefix, []byte(`"time":"`))
	if t < 0 {
		return "", false
	}
	rest := prefix[t+len(`"time":"`):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return "", false
	}
	typ := "?"
	if bytes.Contains(prefix[:t], []byte(`"update"`)) {
		typ = "update"
	} else if bytes.Contains(prefix[:t], []byte(`"snapshot"`)) {
		typ = "snapshot"
	}
	return typ + " " + string(rest[:end]), true
}

func (d *decoder) decode(data []byte) (*counts, time.Time, string, error) {
	var f wireFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, time.Time{}, "", fmt.Errorf("decoding a websocket frame: %w", err)
	}
	c := &counts{PerWorker: make([]uint64, len(d.index))}
	if f.Run != nil {
		c.RunID = f.Run.ID
		for _, w := range f.Run.Workers {
			if i, ok := d.index[w.ID]; ok {
				c.PerWorker[i] = w.Requests
			}
		}
	}
	if f.Stats != nil {
		c.Total, c.Rows = f.Stats.Totals.Requests, len(f.Stats.Rows)
	}
	return c, f.Time, f.Type, nil
}

// wsClient is one browser's worth of websocket feed.
type wsClient struct {
	url string
	dec *decoder

	mu     sync.Mutex
	frames []seen
	err    error
}

// run connects and records every frame until ctx ends or the connection does.
func (c *wsClient) run(ctx context.Context, connected func(error)) {
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, c.url, nil)
	connected(err)
	if err != nil {
		return
	}
	go func() {
		<-ctx.Done()
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
			time.Now().Add(time.Second))
		conn.Close()
	}()
	buf := make([]byte, 256)
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			if ctx.Err() == nil {
				c.setErr(fmt.Errorf("websocket %s: %w", c.url, err))
			}
			return
		}
		s, err := c.receive(r, buf)
		if err != nil {
			if ctx.Err() == nil { // else the connection was closed under the read on purpose
				c.setErr(err)
			}
			return
		}
		c.mu.Lock()
		c.frames = append(c.frames, s)
		c.mu.Unlock()
	}
}

// receive reads one message. The first client to see a frame decodes it; the others only read it
// to the end (the receive time is when the last byte arrived) and share the result.
func (c *wsClient) receive(r io.Reader, buf []byte) (seen, error) {
	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.ErrUnexpectedEOF {
		return seen{}, err
	}
	prefix := buf[:n]
	key, ok := frameKey(prefix)
	var entry *decoded
	owner := !ok
	if ok {
		c.dec.mu.Lock()
		entry = c.dec.frames[key]
		if entry == nil {
			entry = &decoded{ready: make(chan struct{})}
			c.dec.frames[key] = entry
			owner = true
		}
		c.dec.mu.Unlock()
	}
	var s seen
	if !owner {
		rest, err := io.Copy(io.Discard, r)
		if err != nil {
			return seen{}, err
		}
		s.Recv, s.Size = time.Now(), n+int(rest)
		<-entry.ready
		if entry.err != nil {
			return seen{}, entry.err
		}
		s.Counts, s.Master = entry.counts, entry.master
		s.Type, _, _ = strings.Cut(key, " ")
		return s, nil
	}
	var all bytes.Buffer
	all.Write(prefix)
	var cs *counts
	var master time.Time
	var typ string
	_, err = all.ReadFrom(r)
	if err == nil {
		s.Recv, s.Size = time.Now(), all.Len()
		cs, master, typ, err = c.dec.decode(all.Bytes())
	}
	// Whatever happened, the clients waiting for this frame must learn it: an owner that returned
	// without closing ready (its connection closed mid-frame as the master ended the run) left
	// them blocked for good.
	if entry != nil {
		entry.counts, entry.master, entry.err = cs, master, err
		close(entry.ready)
	}
	if err != nil {
		return seen{}, err
	}
	s.Counts, s.Master, s.Type = cs, master, typ
	return s, nil
}

func (c *wsClient) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// results returns the frames received so far and the first error.
func (c *wsClient) results() ([]seen, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]seen(nil), c.frames...), c.err
}

func wsURL(web string) string { return "ws" + strings.TrimPrefix(web, "http") + "/ws" }

// snapshotSize connects, reads the first frame (the full snapshot every new client gets) and
// returns its size.
func snapshotSize(ctx context.Context, url string) (int, error) {
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, r, err := conn.NextReader()
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, r)
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	return int(n), err
}
