package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// MaxMessageBytes bounds one message: a script bundle travels in one Assignment.
const MaxMessageBytes = 128 << 20

// helloTimeout is how long a new stream may take to say Hello.
const helloTimeout = 10 * time.Second

// heartbeatInterval is how often each side tells the other it is alive; the master's heartbeat
// carries the stats acknowledgement. Failure detection does not rest on it (a broken connection
// is seen at once, a partition by the transport keepalive below), so it is a second rather than
// less: at a thousand workers heartbeats are most of the messages the master handles
// (docs/performance.md has what a shorter interval costs).
const heartbeatInterval = time.Second

// A connection that reads nothing for keepaliveTime is pinged, and closed when nothing arrives
// within keepaliveTimeout more: a worker cut off by a partition is dropped within 2.5 s. These pings
// are HTTP/2 frames, read and answered by the transport's own goroutines, so a master busy merging
// stats (messages queued behind its handlers) does not mistake live workers for dead ones; the
// Coordinator's WorkerTimeout, on application messages, is only the generous backstop for a worker
// whose process answers pings but is wedged.
const (
	keepaliveTime    = time.Second
	keepaliveTimeout = 1500 * time.Millisecond
)

// NewServer returns a gRPC server with the Coordinator service, health checking, size limits and
// keepalive enforcement, and opts' join token and TLS (security.go). The caller serves it on a
// listener and stops it.
func NewServer(core *master.Coordinator, log *slog.Logger, opts ...ServerOption) *grpc.Server {
	if log == nil {
		log = slog.Default()
	}
	srv := grpc.NewServer(append(serverOptions(log, opts),
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)...)
	pb.RegisterCoordinatorServer(srv, &service{core: core, log: log})
	hs := health.NewServer()
	hs.SetServingStatus(pb.Coordinator_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	return srv
}

type service struct {
	pb.UnimplementedCoordinatorServer
	core *master.Coordinator
	log  *slog.Logger
}

// Errors of the stream itself, which toStatus maps.
var (
	// errNoHello is a stream whose first message did not come in time.
	errNoHello = errors.New("no Hello in time")
	// errViolation is a worker breaking the protocol (a second Hello, a message out of place).
	errViolation = errors.New("protocol violation")
)

// toStatus maps how a worker's stream ended to its gRPC status, in one place: a stream the worker
// closed (io.EOF) ends OK, a status the stream already has is kept, a protocol version mismatch is
// a failed precondition, a protocol violation an invalid argument, cancellation and timeouts
// their own codes, and anything else internal.
func toStatus(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	switch {
	case errors.Is(err, master.ErrProtocolVersion):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, errViolation):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errNoHello):
		return status.Error(codes.DeadlineExceeded, err.Error())
	default:
		return status.Error(codes.Internal, err.Error())
	}
}

func (s *service) Connect(stream pb.Coordinator_ConnectServer) error {
	first, err := recvWithin(stream, helloTimeout)
	if err != nil {
		return toStatus(err)
	}
	h := first.GetHello()
	if h == nil {
		return status.Error(codes.InvalidArgument, "the first message must be Hello")
	}
	if err := validateHello(h); err != nil {
		s.log.Warn("refused a worker", "host", truncate(h.Host), "err", err)
		return status.Error(codes.InvalidArgument, err.Error())
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	conn := newServerConn(ctx, cancel)

	wel, err := s.core.Join(protocol.Hello{ProtocolMajor: h.ProtocolMajor, ProtocolMinor: h.ProtocolMinor,
		WorkerID: h.WorkerId, Host: h.Host, Version: h.Version, CPUs: int(h.Cpus), AllowHosts: h.AllowHosts}, conn)
	if err != nil {
		s.log.Warn("refused a worker", "host", h.Host, "err", err)
		_ = stream.Send(&pb.MasterMessage{Msg: &pb.MasterMessage_Reject{Reject: &pb.Reject{Reason: err.Error()}}})
		if !errors.Is(err, master.ErrProtocolVersion) {
			err = fmt.Errorf("%w: %w", errViolation, err) // the master refused what the Hello said
		}
		return toStatus(err)
	}
	defer conn.wait()
	// The core may queue an Assignment as soon as Join returns; Welcome still goes first.
	conn.begin(stream, &pb.MasterMessage{Msg: &pb.MasterMessage_Welcome{Welcome: &pb.Welcome{
		Index: uint32(wel.Index), ProtocolMajor: protocol.Major, ProtocolMinor: protocol.Minor,
		HeartbeatIntervalMs: uint32(heartbeatInterval.Milliseconds()), AckStatsSeq: wel.AckStatsSeq,
	}}})
	go conn.heartbeats(func() uint64 { return s.core.AckSeq(h.WorkerId) })

	errc := make(chan error, 1)
	go func() { errc <- s.serve(stream, h.WorkerId) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = ctx.Err()
	}
	cancel()
	s.core.Leave(h.WorkerId, conn, err)
	return toStatus(err)
}

func recvWithin(stream pb.Coordinator_ConnectServer, d time.Duration) (*pb.WorkerMessage, error) {
	type res struct {
		m   *pb.WorkerMessage
		err error
	}
	ch := make(chan res, 1)
	go func() {
		m, err := stream.Recv()
		ch <- res{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(d):
		return nil, fmt.Errorf("%w: none within %s", errNoHello, d)
	}
}

// serve hands every message of the stream to the core until the stream ends.
func (s *service) serve(stream pb.Coordinator_ConnectServer, id string) error {
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		switch m := msg.Msg.(type) {
		case *pb.WorkerMessage_Heartbeat:
			hb := m.Heartbeat
			s.core.Heartbeat(id, protocol.Heartbeat{State: protocol.ParseWorkerState(hb.State), Users: hb.Users, CPUPercent: hb.CpuPercent, Memory: hb.MemoryBytes})
		case *pb.WorkerMessage_Stats:
			d := &stats.Delta{} // an invalid delta is acknowledged, so not resent, but not merged
			if err := validateDelta(m.Stats); err != nil {
				s.log.Warn("dropped a worker's stats delta", "worker", id, "err", err)
			} else {
				d = deltaFromPB(m.Stats)
			}
			s.core.Stats(id, m.Stats.RunId, m.Stats.Seq, d)
		case *pb.WorkerMessage_Status:
			st := m.Status
			s.core.Status(id, protocol.Status{RunID: st.RunId, State: protocol.WorkerState(st.State),
				ExitCode: int(st.ExitCode), Error: st.Error, LastStatsSeq: st.LastStatsSeq})
		case *pb.WorkerMessage_PhaseResult:
			p := m.PhaseResult
			phase := protocol.SetupPhase
			if p.Phase == pb.Phase_PHASE_TEARDOWN {
				phase = protocol.TeardownPhase
			}
			s.core.PhaseResult(id, protocol.PhaseResult{RunID: p.RunId, Phase: phase, Data: json.RawMessage(p.Data), Error: p.Error})
		case *pb.WorkerMessage_Logs:
			lines := make([]protocol.LogLine, len(m.Logs.Lines))
			for i, l := range m.Logs.Lines {
				lines[i] = protocol.LogLine{Time: time.Unix(0, l.TimeUnixNano), Level: l.Level, Message: l.Message, Source: l.Source}
			}
			s.core.Logs(id, lines)
		case *pb.WorkerMessage_Hello:
			return fmt.Errorf("%w: a second Hello on the same stream", errViolation)
		}
	}
}

// serverConn is the master's side of one worker stream; it implements master.WorkerConn.
type serverConn struct {
	ctx    context.Context
	cancel context.CancelFunc
	queue  chan *pb.MasterMessage
	done   chan struct{}
}

var _ master.WorkerConn = (*serverConn)(nil)

func newServerConn(ctx context.Context, cancel context.CancelFunc) *serverConn {
	return &serverConn{ctx: ctx, cancel: cancel, queue: make(chan *pb.MasterMessage, 1024), done: make(chan struct{})}
}

// begin starts the sender: first the welcome, then whatever was queued.
func (c *serverConn) begin(stream pb.Coordinator_ConnectServer, welcome *pb.MasterMessage) {
	go func() {
		defer close(c.done)
		if err := stream.Send(welcome); err != nil {
			c.cancel()
			return
		}
		for {
			select {
			case <-c.ctx.Done():
				return
			case m := <-c.queue:
				if err := stream.Send(m); err != nil {
					c.cancel()
					return
				}
			}
		}
	}()
}

func (c *serverConn) wait() { <-c.done }

func (c *serverConn) heartbeats(ack func() uint64) {
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-t.C:
			c.enqueue(&pb.MasterMessage{Msg: &pb.MasterMessage_Heartbeat{Heartbeat: &pb.Heartbeat{
				TimeUnixNano: now.UnixNano(), AckStatsSeq: ack()}}})
		}
	}
}

var errConnGone = errors.New("worker connection is gone")

// enqueue never blocks: a worker that cannot keep up with 1024 queued messages is dropped.
func (c *serverConn) enqueue(m *pb.MasterMessage) error {
	if c.ctx.Err() != nil {
		return errConnGone
	}
	select {
	case c.queue <- m:
		return nil
	default:
		c.cancel()
		return errConnGone
	}
}

func (c *serverConn) Assign(p scenario.Part) error {
	return c.enqueue(&pb.MasterMessage{Msg: &pb.MasterMessage_Assignment{Assignment: partToPB(p)}})
}

func (c *serverConn) RunSetup(runID string) error {
	return c.enqueue(&pb.MasterMessage{Msg: &pb.MasterMessage_RunSetup{RunSetup: &pb.RunSetup{RunId: runID}}})
}

func (c *serverConn) Start(runID string, data json.RawMessage) error {
	return c.enqueue(&pb.MasterMessage{Msg: &pb.MasterMessage_Start{Start: &pb.Start{RunId: runID, SetupData: data}}})
}

func (c *serverConn) Control(ct protocol.Control) error {
	return c.enqueue(&pb.MasterMessage{Msg: &pb.MasterMessage_Control{Control: &pb.Control{
		RunId: ct.RunID, Seq: ct.Seq, Users: ct.Users, SpawnRate: ct.SpawnRate, Stop: ct.Stop, Classes: ct.Classes}}})
}

func (c *serverConn) RunTeardown(runID string) error {
	return c.enqueue(&pb.MasterMessage{Msg: &pb.MasterMessage_RunTeardown{RunTeardown: &pb.RunTeardown{RunId: runID}}})
}

func (c *serverConn) Finish(runID, reason string) error {
	return c.enqueue(&pb.MasterMessage{Msg: &pb.MasterMessage_Finish{Finish: &pb.Finish{RunId: runID, Reason: reason}}})
}

func (c *serverConn) Close() { c.cancel() }
