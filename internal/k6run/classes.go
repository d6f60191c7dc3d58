package k6run

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
)

// ErrBadClasses is a set of user-class targets that cannot be used: a class without a name or a
// negative count.
var ErrBadClasses = errors.New("bad user classes")

// classesEnv carries a child's initial user-class targets, a JSON object of class name to VU count,
// from Start to newOutput (k6 hands the output its process environment). Later changes travel on
// the liveness pipe (see appendClassesFrame).
const classesEnv = "STAMPEDE_CLASSES"

// checkClasses validates targets.
func checkClasses(targets map[string]int64) error {
	for name, n := range targets {
		if name == "" {
			return fmt.Errorf("%w: a class has no name", ErrBadClasses)
		}
		if n < 0 {
			return fmt.Errorf("%w: class %q wants %d VUs", ErrBadClasses, name, n)
		}
	}
	return nil
}

// The liveness pipe from the parent to the child is a stream of messages, each starting with a
// kind byte. Every message is a beat.
const (
	// liveBeat is a beat and nothing else: one byte.
	liveBeat byte = 1
	// liveClasses is followed by a big-endian uint32 length and that many bytes of JSON: the
	// child's new user-class targets (class name to VU count), which replace the old ones.
	liveClasses byte = 2
)

// maxClassesFrame bounds a liveClasses payload; a longer one means the stream is corrupt.
const maxClassesFrame = 1 << 20

// appendClassesFrame appends a liveClasses message carrying targets to b.
func appendClassesFrame(b []byte, targets map[string]int64) ([]byte, error) {
	if err := checkClasses(targets); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(targets)
	if err != nil {
		return nil, fmt.Errorf("user classes: %w", err)
	}
	if len(payload) > maxClassesFrame {
		return nil, fmt.Errorf("%w: %d bytes of class names, the limit is %d", ErrBadClasses, len(payload), maxClassesFrame)
	}
	b = append(b, liveClasses)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...), nil
}

// errLiveStream is a liveness stream that does not follow the protocol: the parent is not a
// Stampede of the same build.
var errLiveStream = errors.New("corrupt liveness stream from the worker")

// readLive reads one liveness message: a beat (nil targets) or new user-class targets. Errors
// from r come back unwrapped, so that io.EOF still means the parent is gone.
func readLive(r *bufio.Reader) (map[string]int64, error) {
	kind, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	switch kind {
	case liveBeat:
		return nil, nil
	case liveClasses:
	default:
		return nil, fmt.Errorf("%w: message kind %d", errLiveStream, kind)
	}
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxClassesFrame {
		return nil, fmt.Errorf("%w: a %d-byte class message", errLiveStream, size)
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, err
	}
	targets, err := decodeClasses(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errLiveStream, err)
	}
	return targets, nil
}

// decodeClasses reads user-class targets from their JSON (classesEnv, or a liveClasses message)
// and checks them. The result is never nil: nil targets mean a beat.
func decodeClasses(data []byte) (map[string]int64, error) {
	var targets map[string]int64
	if err := json.Unmarshal(data, &targets); err != nil {
		return nil, err
	}
	if targets == nil {
		targets = map[string]int64{}
	}
	if err := checkClasses(targets); err != nil {
		return nil, err
	}
	return targets, nil
}

// classTable shares a child's active VUs among user classes. A VU holds a seat for each iteration:
// at the iteration's start it asks pick which class to run, and the seat is released when the
// iteration ends. The seat remembers the class the VU ran last.
//
// The rule, applied one VU at a time: a VU keeps its class (the seat's, or else the last one)
// unless that class would be over its target while another class is under its own; a VU without a
// class (just activated) or leaving one joins the class furthest below its target (the first by
// name on a tie). With the active VUs numbering the sum of the targets, nobody takes another's
// class once each class's VUs are its target: so, once every active VU has started an iteration
// since the last change, every class has exactly its target, the VUs keep their classes from
// then on, and a change of targets moves only as many VUs as it must. A count here is of the VUs
// inside an iteration, so it dips for the moment between a VU's iterations.
//
// A classTable is safe for concurrent use.
type classTable struct {
	mu     sync.Mutex
	names  []string         // the classes with a target, sorted: the order of ties
	target map[string]int64 // by class
	active map[string]int64 // seats held, by class; a class without a target may still have some
}

// seat is one VU's place in one iteration; guarded by its table's mu.
type seat struct {
	class    string // "" until the first pick
	last     string // the class of the VU's previous iteration ("" for its first)
	released bool
}

func newClassTable() *classTable {
	return &classTable{target: map[string]int64{}, active: map[string]int64{}}
}

// set replaces the targets. VUs move on their next pick.
func (t *classTable) set(targets map[string]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.target = maps.Clone(targets)
	t.names = slices.Sorted(maps.Keys(targets))
}

// pick returns the class the VU on s runs next, moving s if the rule says so. It returns "" when
// there are no classes. A released seat (its iteration ended while the VU was still running)
// keeps its class and counts for nothing.
func (t *classTable) pick(s *seat) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.released {
		return s.class
	}
	best := t.mostWanting()
	if best == "" {
		return s.class
	}
	if s.class == "" && s.last != "" {
		// A new iteration: the VU's last class, unless it is full and another is not.
		if _, wanted := t.target[s.last]; wanted && (t.active[s.last] < t.target[s.last] || t.target[best] <= t.active[best]) {
			s.class = s.last
			t.active[s.class]++
			return s.class
		}
	}
	if s.class != "" {
		_, wanted := t.target[s.class]
		if wanted && (t.active[s.class] <= t.target[s.class] || t.target[best] <= t.active[best]) {
			return s.class // not over target, or over but nobody is under: moving changes nothing
		}
		t.active[s.class]--
	}
	s.class = best
	t.active[best]++
	return best
}

// mostWanting is the class with the largest target minus active VUs, "" if there are no classes.
func (t *classTable) mostWanting() string {
	best, bestGap := "", int64(0)
	for _, name := range t.names {
		if gap := t.target[name] - t.active[name]; best == "" || gap > bestGap {
			best, bestGap = name, gap
		}
	}
	return best
}

// release gives up s's class for good; it is a no-op the second time.
func (t *classTable) release(s *seat) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.released {
		return
	}
	s.released = true
	if s.class != "" {
		t.active[s.class]--
	}
}

// counts returns the active VUs of every class that has a target or a VU.
func (t *classTable) counts() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.names))
	for _, name := range t.names {
		out[name] = t.active[name]
	}
	for name, n := range t.active {
		if n != 0 {
			out[name] = n
		}
	}
	return out
}
