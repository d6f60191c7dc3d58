package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stampede-load/stampede/internal/master"
)

// How a worker's stream ended becomes its gRPC status in one place, and a plain end or a timeout
// is no "invalid argument".
func TestToStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want codes.Code
	}{
		{"no error", nil, codes.OK},
		{"the worker closed the stream", io.EOF, codes.OK},
		{"the stream's own status", status.Error(codes.Unavailable, "transport is closing"), codes.Unavailable},
		{"another protocol version", fmt.Errorf("%w: 3.0", master.ErrProtocolVersion), codes.FailedPrecondition},
		{"a second Hello", fmt.Errorf("%w: a second Hello", errViolation), codes.InvalidArgument},
		{"no Hello in time", fmt.Errorf("%w: none within 10s", errNoHello), codes.DeadlineExceeded},
		{"a deadline", context.DeadlineExceeded, codes.DeadlineExceeded},
		{"cancelled", context.Canceled, codes.Canceled},
		{"anything else", errors.New("disk full"), codes.Internal},
	} {
		if got := status.Code(toStatus(tc.err)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
