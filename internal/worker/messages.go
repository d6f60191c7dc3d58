package worker

import (
	"context"
	"errors"

	"github.com/stampede-load/stampede/internal/protocol"
)

// ErrRejected is returned (wrapped, with the master's reason) when the master refuses this worker;
// retrying would not help.
var ErrRejected = errors.New("master refused this worker")

// ErrUnauthorized is returned (wrapped) when the master refuses this worker's credentials (its join
// token or TLS client certificate). The worker keeps retrying: a corrected Secret heals it.
var ErrUnauthorized = errors.New("the master refused this worker's credentials")

// Dialer opens a session with the master.
type Dialer interface {
	// Dial connects and exchanges Hello/Welcome. An error wrapping ErrRejected is final.
	Dial(ctx context.Context, h protocol.Hello) (Session, protocol.Welcome, error)
}

// Session is one connection to the master. Send is safe for concurrent use and keeps order; Recv is
// called from one goroutine.
type Session interface {
	Send(protocol.Event) error
	Recv() (protocol.Command, error)
	Close() error
}
