package rpc

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"
)

// ErrInvalidMessage means a peer sent a message no correct peer sends: counts that contradict each
// other, a histogram bigger than any real one, an unknown enum value. Such a message is refused
// rather than merged, so one broken or hostile worker cannot corrupt a run's results.
var ErrInvalidMessage = errors.New("invalid message")

// Bounds of a plausible message. A real stats delta holds at most the names one worker saw in a
// second; a real histogram about 1,100 buckets (durations from 1 µs to 1 hour).
const (
	maxRows    = 100_000 // entries, errors, checks or metrics in one delta
	maxBuckets = 40_000  // buckets in one histogram: more than every bucket a float64 can reach
	// Bucket indexes a float64 magnitude can have: stats buckets values from 1e-9 (index -1,046)
	// to math.MaxFloat64 (35,843); see TestBucketIndexBounds.
	minBucket, maxBucket = -1_100, 35_900
	maxText              = 64 << 10 // bytes of one name, status, error text or Hello field
	maxAllowHosts        = 10_000
	maxCPUs              = 1 << 16
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
}

// validateHello checks a worker's Hello before the master registers it.
func validateHello(h *pb.Hello) error {
	switch {
	case len(h.WorkerId) > maxText || len(h.Host) > maxText || len(h.Version) > maxText:
		return invalid("hello: a field is over %d bytes", maxText)
	case h.Cpus > maxCPUs:
		return invalid("hello: %d CPUs", h.Cpus)
	case len(h.AllowHosts) > maxAllowHosts || len(h.Capabilities) > maxAllowHosts:
		return invalid("hello: %d allow-list entries, %d capabilities", len(h.AllowHosts), len(h.Capabilities))
	}
	return nil
}

// validateDelta checks a stats delta before the master merges it.
func validateDelta(p *pb.StatsDelta) error {
	if n := max(len(p.Entries), len(p.Errors), len(p.Checks), len(p.Metrics)); n > maxRows {
		return invalid("stats delta %d: %d rows in one table, at most %d", p.Seq, n, maxRows)
	}
	for _, e := range p.Entries {
		if err := texts(e.Name, e.Method, e.Status); err != nil {
			return err
		}
		if e.Failures > e.Requests {
			return invalid("stats %s %s: %d failures of %d requests", e.Method, e.Name, e.Failures, e.Requests)
		}
		if err := validateHistogram(e.DurationMs); err != nil {
			return fmt.Errorf("stats %s %s: %w", e.Method, e.Name, err)
		}
	}
	for _, e := range p.Errors {
		if err := texts(e.Name, e.Method, e.Error); err != nil {
			return err
		}
	}
	for _, c := range p.Checks {
		if err := texts(c.Group, c.Name); err != nil {
			return err
		}
	}
	for _, m := range p.Metrics {
		if err := texts(m.Name, m.Type, m.Contains); err != nil {
			return err
		}
		if m.Type == "rate" && m.Trues > m.Count {
			return invalid("metric %s: %d trues of %d samples", m.Name, m.Trues, m.Count)
		}
		if err := validateHistogram(m.Hist); err != nil {
			return fmt.Errorf("metric %s: %w", m.Name, err)
		}
	}
	return nil
}

func texts(ss ...string) error {
	for _, s := range ss {
		if len(s) > maxText {
			return invalid("a %d-byte name, at most %d", len(s), maxText)
		}
	}
	return nil
}

// validateHistogram checks that a histogram's buckets are paired, in range and add up to its count.
func validateHistogram(h *pb.Histogram) error {
	if h == nil {
		return nil
	}
	if len(h.PosIndex) != len(h.PosCount) || len(h.NegIndex) != len(h.NegCount) {
		return invalid("histogram: %d/%d positive and %d/%d negative bucket indexes/counts",
			len(h.PosIndex), len(h.PosCount), len(h.NegIndex), len(h.NegCount))
	}
	if n := len(h.PosIndex) + len(h.NegIndex); n > maxBuckets {
		return invalid("histogram: %d buckets, at most %d", n, maxBuckets)
	}
	total := h.Zero
	for _, side := range [2]struct {
		idx []int32
		cnt []uint64
	}{{h.PosIndex, h.PosCount}, {h.NegIndex, h.NegCount}} {
		for i, idx := range side.idx {
			if idx < minBucket || idx > maxBucket {
				return invalid("histogram: bucket index %d outside %d..%d", idx, minBucket, maxBucket)
			}
			var carry uint64
			if total, carry = bits.Add64(total, side.cnt[i], 0); carry != 0 {
				return invalid("histogram: bucket counts overflow")
			}
		}
	}
	if total != h.Count {
		return invalid("histogram: buckets hold %d values, count says %d", total, h.Count)
	}
	if h.Count > 0 && (math.IsNaN(h.Min) || math.IsNaN(h.Max) || h.Min > h.Max) {
		return invalid("histogram: min %v, max %v", h.Min, h.Max)
	}
	return nil
}

// truncate keeps a peer's text short enough for a log line.
func truncate(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}
