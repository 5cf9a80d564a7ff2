package cache

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// failoverReplies are the error replies by which a node says it is no longer the primary
// behind its address, or not yet one that serves: a demoted primary refuses writes with
// READONLY (and a transaction that queued one with EXECABORT), a replica still loading its
// data set answers LOADING, and one that lost its master (replica-serve-stale-data no)
// answers MASTERDOWN.
var failoverReplies = []string{"READONLY", "EXECABORT", "LOADING", "MASTERDOWN"}

// IsFailoverReply reports whether err is, or wraps, one of those replies: the node behind
// the address is changing roles, a dependency away for now (a 503), not a bug.
func IsFailoverReply(err error) bool { return isFailoverReply(err) }

// isFailoverReply reports whether err is a reply of failoverReplies.
func isFailoverReply(err error) bool {
	var reply redis.Error
	if err == nil || !errors.As(err, &reply) {
		return false
	}
	msg := reply.Error()
	for _, p := range failoverReplies {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// nodeConns drops a node's pooled connections once one of them has said the node behind
// the address changed role (failoverReplies).
//
// After a failover behind one address — ElastiCache's primary endpoint is a DNS name that
// moves — open connections stay with the demoted node. go-redis drops a connection that
// answered READONLY to a single command, but not one that answered it inside a pipeline
// (unless to the first command) or inside MULTI/EXEC (the reply is EXECABORT): such a
// connection goes back to the pool, and every pipeline and transaction that picks it fails
// again, for as long as the connection lives (13 minutes and more was seen). A hook runs
// after the connection is back in the pool and cannot reach it, so the guard works through
// the pool's own health check instead: every connection is marked at dial with the node's
// generation; a failover reply, in any command of any call, starts a new generation; and a
// connection of an older one fails the health check that go-redis runs on each idle
// connection it takes from the pool (SyscallConn returns an error), so the pool closes it
// and dials anew — through the endpoint, to the new primary. The calls that got the reply
// still fail (their writes were not applied: nothing is retried or reported otherwise); the
// ones after them get fresh connections. A connection that answered a failover reply by
// mistake (EXECABORT for a bad command inside MULTI) only costs the pool a reconnect.
type nodeConns struct {
	addr       string
	log        *slog.Logger
	generation atomic.Uint64
	lastLog    atomic.Int64 // unix ns of the last warning, to say it once a second at most
}

// wrap marks conn with the current generation.
func (n *nodeConns) wrap(conn net.Conn) net.Conn {
	return &generationConn{Conn: conn, node: n, generation: n.generation.Load()}
}

// check starts a new generation when any of cmds got a failover reply.
func (n *nodeConns) check(cmds ...redis.Cmder) {
	for _, cmd := range cmds {
		if err := cmd.Err(); isFailoverReply(err) {
			n.generation.Add(1)
			now := time.Now().UnixNano()
			if last := n.lastLog.Load(); n.log != nil && now-last > int64(time.Second) && n.lastLog.CompareAndSwap(last, now) {
				n.log.Warn("cache: Redis answered as a node that is not the primary; its open connections are dropped",
					"node", n.addr, "reply", err.Error())
			}
			return
		}
	}
}

// errStaleConn fails the pool's health check of a connection opened before a failover reply.
var errStaleConn = errors.New("cache: connection opened before the node changed role")

// generationConn is a connection with the generation of its node it was dialled in.
type generationConn struct {
	net.Conn
	node       *nodeConns
	generation uint64
}

// SyscallConn is what go-redis's pool health check (connCheck) asks of an idle connection
// before handing it out: an error makes the pool close the connection and take or dial
// another. A current connection gives the socket's own (the check then peeks at it as
// usual); one under TLS gives a raw connection that reports nothing, because go-redis
// deliberately does not peek beneath TLS in its health check.
func (c *generationConn) SyscallConn() (syscall.RawConn, error) {
	if c.generation != c.node.generation.Load() {
		return nil, errStaleConn
	}
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return quietRawConn{}, nil
}

// quietRawConn is a syscall.RawConn that runs nothing: a health check through it passes.
type quietRawConn struct{}

func (quietRawConn) Control(func(fd uintptr)) error           { return nil }
func (quietRawConn) Read(func(fd uintptr) (done bool)) error  { return nil }
func (quietRawConn) Write(func(fd uintptr) (done bool)) error { return nil }
