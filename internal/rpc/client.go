package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/worker"
)

// Dialer connects a worker to its master; it implements worker.Dialer. One gRPC connection is kept
// and reused across sessions (gRPC reconnects it).
type Dialer struct {
	addr string
	log  *slog.Logger
	// protocolMajor overrides the protocol version sent in Hello (tests of version refusal).
	protocolMajor uint32
	dial          dialConfig

	mu   sync.Mutex
	conn *grpc.ClientConn
}

var _ worker.Dialer = (*Dialer)(nil)

// NewDialer returns a Dialer for the master at addr (host:port), with opts' join token and TLS.
func NewDialer(addr string, log *slog.Logger, opts ...DialOption) *Dialer {
	if log == nil {
		log = slog.Default()
	}
	d := &Dialer{addr: addr, log: log}
	for _, o := range opts {
		o(&d.dial)
	}
	return d
}

// Close releases the gRPC connection.
func (d *Dialer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return nil
	}
	err := d.conn.Close()
	d.conn = nil
	return err
}

func (d *Dialer) client() (pb.CoordinatorClient, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		conn, err := grpc.NewClient(d.addr, append(d.dial.options(),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
			grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
		)...)
		if err != nil {
			return nil, fmt.Errorf("master address %q: %w", d.addr, err)
		}
		d.conn = conn
	}
	return pb.NewCoordinatorClient(d.conn), nil
}

// Dial opens the stream and exchanges Hello and Welcome.
func (d *Dialer) Dial(ctx context.Context, h protocol.Hello) (worker.Session, protocol.Welcome, error) {
	cl, err := d.client()
	if err != nil {
		return nil, protocol.Welcome{}, err
	}
	sctx, cancel := context.WithCancel(ctx)
	stream, err := cl.Connect(sctx)
	if err != nil {
		cancel()
		return nil, protocol.Welcome{}, fmt.Errorf("connecting to the master at %s: %w", d.addr, err)
	}
	major := h.ProtocolMajor
	if d.protocolMajor != 0 {
		major = d.protocolMajor
	}
	err = stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Hello{Hello: &pb.Hello{
		ProtocolMajor: major, ProtocolMinor: h.ProtocolMinor, WorkerId: h.WorkerID, Host: h.Host,
		Cpus: uint32(h.CPUs), Version: h.Version, LastStatsSeq: h.LastStatsSeq, AllowHosts: h.AllowHosts,
	}}})
	var first *pb.MasterMessage
	if err == nil || errors.Is(err, io.EOF) { // io.EOF: the master ended the stream, and Recv says why
		// A black-holed connection (a partition) would leave Recv waiting until keepalive gives up.
		answered := time.AfterFunc(helloTimeout, cancel)
		first, err = stream.Recv()
		if !answered.Stop() {
			err = fmt.Errorf("no Welcome within %s", helloTimeout)
		}
	}
	if err != nil {
		cancel()
		if c := status.Code(err); c == codes.Unauthenticated || c == codes.PermissionDenied {
			err = fmt.Errorf("%w: %w", worker.ErrUnauthorized, err)
		}
		return nil, protocol.Welcome{}, fmt.Errorf("connecting to the master at %s: %w", d.addr, err)
	}
	switch m := first.Msg.(type) {
	case *pb.MasterMessage_Reject:
		cancel()
		return nil, protocol.Welcome{}, fmt.Errorf("%w: %s", worker.ErrRejected, m.Reject.Reason)
	case *pb.MasterMessage_Welcome:
		s := newClientSession(sctx, cancel, stream)
		return s, protocol.Welcome{Index: int(m.Welcome.Index), AckStatsSeq: m.Welcome.AckStatsSeq,
			Heartbeat: time.Duration(m.Welcome.HeartbeatIntervalMs) * time.Millisecond}, nil
	default:
		cancel()
		return nil, protocol.Welcome{}, errors.New("the master did not answer Hello with Welcome")
	}
}

// clientSession is the worker's side of the stream. Heartbeats and log lines take a priority lane so
// a backlog of stats never delays liveness; everything else keeps its order (a run's last stats
// delta always precedes its Finished status).
type clientSession struct {
	ctx    context.Context
	cancel context.CancelFunc
	stream pb.Coordinator_ConnectClient
	prio   chan *pb.WorkerMessage
	bulk   chan *pb.WorkerMessage
	done   chan struct{}
	err    error
}

func newClientSession(ctx context.Context, cancel context.CancelFunc, stream pb.Coordinator_ConnectClient) *clientSession {
	s := &clientSession{ctx: ctx, cancel: cancel, stream: stream,
		prio: make(chan *pb.WorkerMessage, 64), bulk: make(chan *pb.WorkerMessage, 256), done: make(chan struct{})}
	go s.send()
	return s
}

func (s *clientSession) send() {
	defer close(s.done)
	for {
		var m *pb.WorkerMessage
		select {
		case m = <-s.prio:
		default:
			select {
			case <-s.ctx.Done():
				return
			case m = <-s.prio:
			case m = <-s.bulk:
			}
		}
		if err := s.stream.Send(m); err != nil {
			s.err = err
			s.cancel()
			return
		}
	}
}

// Send queues ev; it blocks only while the bulk lane is full (backpressure on stats).
func (s *clientSession) Send(ev protocol.Event) error {
	m, prio := eventToPB(ev)
	if m == nil {
		return nil
	}
	lane := s.bulk
	if prio {
		lane = s.prio
	}
	select {
	case lane <- m:
		return nil
	case <-s.ctx.Done():
		return errors.New("session with the master closed")
	}
}

func (s *clientSession) Recv() (protocol.Command, error) {
	for {
		m, err := s.stream.Recv()
		if err != nil {
			return nil, err
		}
		if c := commandFromPB(m); c != nil {
			return c, nil
		}
	}
}

func (s *clientSession) Close() error {
	s.cancel()
	<-s.done
	return nil
}

func eventToPB(ev protocol.Event) (*pb.WorkerMessage, bool) {
	switch e := ev.(type) {
	case protocol.Heartbeat:
		return &pb.WorkerMessage{Msg: &pb.WorkerMessage_Heartbeat{Heartbeat: &pb.Heartbeat{
			TimeUnixNano: time.Now().UnixNano(), State: e.State.String(), Users: e.Users,
			CpuPercent: e.CPUPercent, MemoryBytes: e.Memory}}}, true
	case protocol.Logs:
		lines := make([]*pb.LogLine, len(e.Lines))
		for i, l := range e.Lines {
			lines[i] = logToPB(l)
		}
		return &pb.WorkerMessage{Msg: &pb.WorkerMessage_Logs{Logs: &pb.LogLines{RunId: e.RunID, Lines: lines, Dropped: e.Dropped}}}, true
	case protocol.Stats:
		return &pb.WorkerMessage{Msg: &pb.WorkerMessage_Stats{Stats: deltaToPB(e.RunID, e.Seq, e.Delta)}}, false
	case protocol.Status:
		return &pb.WorkerMessage{Msg: &pb.WorkerMessage_Status{Status: &pb.RunStatus{RunId: e.RunID,
			State: pb.RunState(e.State), ExitCode: int32(e.ExitCode), Error: e.Error, LastStatsSeq: e.LastStatsSeq}}}, false
	case protocol.PhaseResult:
		ph := pb.Phase_PHASE_SETUP
		if e.Phase == protocol.TeardownPhase {
			ph = pb.Phase_PHASE_TEARDOWN
		}
		return &pb.WorkerMessage{Msg: &pb.WorkerMessage_PhaseResult{PhaseResult: &pb.PhaseResult{
			RunId: e.RunID, Phase: ph, Data: e.Data, Error: e.Error}}}, false
	}
	return nil, false
}

func logToPB(l protocol.LogLine) *pb.LogLine {
	return &pb.LogLine{TimeUnixNano: l.Time.UnixNano(), Level: l.Level, Message: l.Message, Source: l.Source}
}

func commandFromPB(m *pb.MasterMessage) protocol.Command {
	switch c := m.Msg.(type) {
	case *pb.MasterMessage_Heartbeat:
		return protocol.MasterHeartbeat{AckStatsSeq: c.Heartbeat.AckStatsSeq}
	case *pb.MasterMessage_Assignment:
		return protocol.Assign{Part: partFromPB(c.Assignment)}
	case *pb.MasterMessage_RunSetup:
		return protocol.RunSetup{RunID: c.RunSetup.RunId}
	case *pb.MasterMessage_Start:
		return protocol.Start{RunID: c.Start.RunId, SetupData: json.RawMessage(c.Start.SetupData)}
	case *pb.MasterMessage_Control:
		ct := c.Control
		return protocol.Control{RunID: ct.RunId, Seq: ct.Seq, Users: ct.Users, SpawnRate: ct.SpawnRate, Stop: ct.Stop, Classes: ct.Classes}
	case *pb.MasterMessage_RunTeardown:
		return protocol.RunTeardown{RunID: c.RunTeardown.RunId}
	case *pb.MasterMessage_Finish:
		return protocol.Finish{RunID: c.Finish.RunId, Reason: c.Finish.Reason}
	}
	return nil
}
