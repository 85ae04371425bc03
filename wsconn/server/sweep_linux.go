//go:build linux

package server

import (
	"time"
)

// sweep runs every tick on the poller goroutine: pings for silent
// connections, and kills for late pongs, stuck write queues and close
// handshakes that did not end in time.
func (r *reactor) sweep(now time.Time) {
	for fd := 0; ; {
		// Copy a chunk of byFD under the lock, then check it without:
		// kill and release take r.mu. A chunk, not the whole table, so
		// the poller keeps nothing that grows with the connections.
		n := 0
		r.mu.Lock()
		for ; fd < len(r.byFD) && n < len(r.sweepConns); fd++ {
			if c := r.byFD[fd]; c != nil {
				r.sweepConns[n] = c
				n++
			}
		}
		r.mu.Unlock()
		if n == 0 {
			return
		}
		r.sweepChunk(r.sweepConns[:n], now)
		clear(r.sweepConns[:n])
	}
}

// sweepChunk checks the timers of the connections cs (poller only).
func (r *reactor) sweepChunk(cs []*srvConn, now time.Time) {
	s := r.s
	o := &s.o
	ns := now.UnixNano()
	for _, c := range cs {
		switch ca, wqs, ps, pt := c.closeAt.Load(), c.wqSince.Load(), c.pingSent.Load(), c.partSince.Load(); {
		case ca != 0 && msSince(ca, now) >= o.CloseTimeout:
			r.kill(c)
		case ca == 0 && !c.upgraded.Load():
			// In the handshake since pt: answered 408 at HandshakeTimeout.
			if pt != 0 && msSince(pt, now) >= o.HandshakeTimeout {
				r.handshakeTimeout(c)
			}
		case pt != 0 && msSince(pt, now) >= o.ReadTimeout:
			r.kill(c) // a unit begun ReadTimeout ago is still not whole
		case wqs != 0 && msSince(wqs, now) >= o.WriteTimeout:
			if r.kill(c) {
				s.ctr.slow.Add(1)
			}
		case ps != 0 && time.Duration(ns-ps) >= o.PongTimeout:
			if r.kill(c) {
				s.ctr.pongTimeouts.Add(1)
			}
		case o.PingInterval > 0 && ps == 0 && ca == 0 &&
			time.Duration(ns-c.lastRead.Load()) >= o.PingInterval:
			if r.tryClaim(c) {
				r.sweepW.init(c, r.sweepCork[:0])
				err := s.ping(c, &r.sweepFW, &r.sweepW)
				if err == nil {
					err = r.sweepW.flush()
				}
				r.sweepW.init(nil, nil)
				if err != nil {
					r.markDead(c)
				}
				r.release(c, false)
			}
		}
	}
}

// handshakeTimeout ends a connection whose request was not whole at
// HandshakeTimeout: 408 and a graceful close if no worker owns it (the
// client, if it still listens, learns why), else a kill.
func (r *reactor) handshakeTimeout(c *srvConn) {
	s := r.s
	if !r.tryClaim(c) {
		if r.kill(c) {
			s.ctr.hsTimeouts.Add(1)
		}
		return
	}
	s.ctr.hsTimeouts.Add(1)
	r.sweepW.init(c, r.sweepCork[:0])
	_ = r.reject(&r.sweepW, "408 Request Timeout")
	r.closing(c, &r.sweepW)
	r.sweepW.init(nil, nil)
	r.release(c, false)
}
