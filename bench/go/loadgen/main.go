// Command loadgen is a lean native load generator for bench/handshake.ts (`--client-runtime go`): the
// same contract as client() there, written to spend as little CPU per handshake as it can, so that on
// a small host the benchmark measures the server rather than the generator sharing its cores.
//
//	loadgen TARGETS_JSON SLICE_MS ROUNDS WIDTH WARMUP_S [RATE]
//
// TARGETS_JSON is a list of {label, kind, ports, rate?}; kind "bare" counts a connection that receives
// any byte before its close, any other kind speaks wire protocol v1 (docs/PROTOCOL.md): read the
// Challenge, answer it (answer.go), read the Quote, wait for the server's close. Targets take turns
// in slices of SLICE_MS with at most WIDTH connections in flight, starting none after the slice's time
// is up and counting handshakes/s over the slice with its drain; first WARMUP_S seconds of uncounted
// turns, then ROUNDS rounds, the order rotating. RATE > 0 (or a target's rate) starts connection k of
// a slice at k/RATE s (open loop). It prints "warm" after the warm-up, then one JSON line:
// {per_s, failed, total, cpu_s, sys_s}, cpu_s being this process's CPU seconds (utime + stime of every
// thread, /proc/self/stat) spent in each target's measured slices, sys_s the stime part.
//
// One event loop on raw non-blocking sockets and epoll (stdlib syscall only, Linux; sys.go): no
// goroutine, no allocation per connection, no netpoller hand-off, and raw system calls that skip the Go
// scheduler's bookkeeping (nothing else runs here); the garbage collector is off (a few kB per slice are
// allocated, for /proc reads). GOMAXPROCS defaults to 1 (set it in the environment to change). A
// connection without its answer after 10 s counts as failed.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"
)

const connTimeout = 10 * time.Second

type target struct {
	Label string   `json:"label"`
	Kind  string   `json:"kind"`
	Ports []int    `json:"ports"`
	Rate  *float64 `json:"rate"`
}

// conn is one connection slot, reused: its buffers live as long as the generator.
type conn struct {
	fd       int
	buf      [headerBytes + maxPayload]byte
	n        int
	out      []byte
	ok       bool
	deadline time.Time
}

type gen struct {
	ep     int
	width  int
	free   []*conn
	byFd   []*conn
	events []syscall.EpollEvent
	ev     syscall.EpollEvent
	ans    *answerer
	addrs  map[int]*syscall.RawSockaddrInet4
	bare   bool
	// per slice
	inflight, done, failed int
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "loadgen: "+msg)
	os.Exit(2)
}

func main() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	debug.SetGCPercent(-1)
	a := os.Args[1:]
	if len(a) < 5 || len(a) > 6 {
		fail("usage: loadgen TARGETS_JSON SLICE_MS ROUNDS WIDTH WARMUP_S [RATE]")
	}
	var targets []target
	if err := json.Unmarshal([]byte(a[0]), &targets); err != nil || len(targets) == 0 {
		fail(fmt.Sprintf("TARGETS_JSON must be a non-empty list of {label, kind, ports, rate?}: %v", err))
	}
	for _, t := range targets {
		if t.Label == "" || len(t.Ports) == 0 {
			fail("every target needs a label and at least one port")
		}
		for _, p := range t.Ports {
			if p < 1 || p > 65535 {
				fail(fmt.Sprintf("target %s: port %d is not in 1..65535", t.Label, p))
			}
		}
		if t.Rate != nil && *t.Rate < 0 {
			fail(fmt.Sprintf("target %s: rate must be >= 0", t.Label))
		}
	}
	num := func(s, what string, ok func(float64) bool) float64 {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || !ok(x) {
			fail(what)
		}
		return x
	}
	sliceMs := num(a[1], "SLICE_MS must be a number > 0", func(x float64) bool { return x > 0 })
	rounds := int(num(a[2], "ROUNDS must be an integer >= 1", func(x float64) bool { return x >= 1 && x == float64(int(x)) }))
	width := int(num(a[3], "WIDTH must be an integer from 1 to 4096", func(x float64) bool { return x >= 1 && x <= 4096 && x == float64(int(x)) }))
	warmupS := num(a[4], "WARMUP_S must be a number >= 0", func(x float64) bool { return x >= 0 })
	rate := 0.0
	if len(a) == 6 {
		rate = num(a[5], "RATE must be a number >= 0", func(x float64) bool { return x >= 0 })
	}

	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		fail("epoll_create1: " + err.Error())
	}
	g := &gen{ep: ep, width: width, events: make([]syscall.EpollEvent, width), ans: newAnswerer(), addrs: map[int]*syscall.RawSockaddrInet4{}}
	for i := 0; i < width; i++ {
		g.free = append(g.free, &conn{fd: -1, out: make([]byte, 0, headerBytes+maxPayload)})
	}
	for _, t := range targets {
		for _, p := range t.Ports {
			g.addrs[p] = loopback(p)
		}
	}
	slice := time.Duration(sliceMs * float64(time.Millisecond))
	rateOf := func(t *target) float64 {
		if t.Rate != nil {
			return *t.Rate
		}
		return rate
	}

	warmSlices := int(math.Ceil(warmupS * 1000 / sliceMs)) // as client() in bench/handshake.ts
	for i := 0; i < warmSlices; i++ {
		for k := range targets {
			g.slice(&targets[k], slice, rateOf(&targets[k]))
		}
	}
	fmt.Println("warm")
	perS, failed, total := map[string][]int{}, map[string]int{}, map[string]int{}
	cpu, sys := map[string]float64{}, map[string]float64{}
	for _, t := range targets {
		perS[t.Label], failed[t.Label], total[t.Label], cpu[t.Label], sys[t.Label] = []int{}, 0, 0, 0, 0
	}
	for r := 0; r < rounds; r++ {
		for k := range targets {
			t := &targets[(r+k)%len(targets)]
			c0, s0 := cpuSeconds()
			ps := g.slice(t, slice, rateOf(t))
			c1, s1 := cpuSeconds()
			cpu[t.Label] += c1 - c0
			sys[t.Label] += s1 - s0
			perS[t.Label] = append(perS[t.Label], int(ps+0.5))
			failed[t.Label] += g.failed
			total[t.Label] += g.done
		}
	}
	line, _ := json.Marshal(map[string]any{"per_s": perS, "failed": failed, "total": total, "cpu_s": cpu, "sys_s": sys})
	fmt.Println(string(line))
}

// slice runs one turn against t and returns its handshakes per second (g.done and g.failed hold its counts).
func (g *gen) slice(t *target, length time.Duration, rate float64) float64 {
	g.done, g.failed, g.inflight = 0, 0, 0
	g.bare = t.Kind == "bare"
	t0 := time.Now()
	until := t0.Add(length)
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	next := 0
	lastSweep := t0
	for {
		now := time.Now()
		open := now.Before(until)
		// Start what may start: closed loop, up to width in flight; open loop, connection k at t0 + k/rate.
		for open && g.inflight < g.width {
			if interval > 0 {
				at := t0.Add(time.Duration(next) * interval)
				if at.After(now) {
					break
				}
			}
			port := t.Ports[next%len(t.Ports)]
			next++
			g.start(port, now)
		}
		if !open && g.inflight == 0 {
			break
		}
		wait := 100 * time.Millisecond // at most: the deadline sweep's period
		if open {
			if r := until.Sub(now); r < wait {
				wait = r
			}
			if interval > 0 && g.inflight < g.width {
				if r := t0.Add(time.Duration(next) * interval).Sub(now); r < wait {
					wait = r
				}
			}
		}
		ms := int((wait + time.Millisecond - 1) / time.Millisecond)
		if ms < 0 {
			ms = 0
		}
		n, err := epollWait(g.ep, g.events, ms)
		if err != 0 && err != syscall.EINTR {
			fail("epoll_wait: " + err.Error())
		}
		for i := 0; i < n; i++ {
			g.readable(g.byFd[g.events[i].Fd], g.events[i].Events)
		}
		if now.Sub(lastSweep) >= 100*time.Millisecond {
			lastSweep = now
			for _, c := range g.byFd {
				if c != nil && c.fd >= 0 && now.After(c.deadline) {
					g.finish(c, false)
				}
			}
		}
	}
	return float64(g.done) / time.Since(t0).Seconds()
}

// start opens one non-blocking connection; it completes (or fails) in readable().
func (g *gen) start(port int, now time.Time) {
	fd, err := socket()
	if err != 0 {
		g.failed++
		return
	}
	if err := connect(fd, g.addrs[port]); err != 0 && err != syscall.EINPROGRESS {
		closeFd(fd)
		g.failed++
		return
	}
	// Only readability matters: the server speaks first (a Challenge, or the bare server's line), and
	// a refused or reset connection wakes the reader too (EPOLLERR, EPOLLHUP).
	g.ev = syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := epollAdd(g.ep, fd, &g.ev); err != 0 {
		closeFd(fd)
		g.failed++
		return
	}
	c := g.free[len(g.free)-1]
	g.free = g.free[:len(g.free)-1]
	c.fd, c.n, c.ok, c.deadline = fd, 0, false, now.Add(connTimeout)
	for fd >= len(g.byFd) {
		g.byFd = append(g.byFd, nil)
	}
	g.byFd[fd] = c
	g.inflight++
}

// readable reads what the socket has, answers a Challenge, notes a Quote, and finishes at the close.
// One read per wake-up unless it filled the buffer (epoll is level-triggered: bytes left wake it again),
// and none to see the end of the stream when epoll already said the peer closed (EPOLLRDHUP: the bytes
// before the FIN are all in this read), so a handshake costs no read that returns EAGAIN.
func (g *gen) readable(c *conn, events uint32) {
	if c == nil || c.fd < 0 {
		return
	}
	for {
		space := len(c.buf) - c.n
		n, err := read(c.fd, c.buf[c.n:])
		if err == syscall.EAGAIN {
			return
		}
		if err == syscall.EINTR {
			continue
		}
		if err != 0 {
			g.finish(c, false)
			return
		}
		if n == 0 {
			g.finish(c, c.ok)
			return
		}
		if g.bare {
			c.ok = true // c.n stays 0: the bytes are not kept
		} else {
			c.n += n
			if !g.frames(c) {
				g.finish(c, false)
				return
			}
		}
		if n < space {
			if events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP) != 0 {
				g.finish(c, c.ok)
			}
			return
		}
	}
}

// frames handles every whole frame in c.buf; false when the bytes are not protocol v1 or a write fails.
func (g *gen) frames(c *conn) bool {
	for c.n >= headerBytes {
		if c.buf[0] != protocolVersion {
			return false
		}
		length := int(c.buf[2])<<8 | int(c.buf[3])
		if length > maxPayload {
			return false
		}
		end := headerBytes + length
		if c.n < end {
			if c.n == len(c.buf) {
				return false
			}
			return true
		}
		if c.buf[1] == typeChallenge {
			out, err := g.ans.answer(c.buf[headerBytes:end], c.out)
			if err != nil {
				return false
			}
			c.out = out
			// A fresh socket's send buffer takes a few hundred bytes whole.
			if w, err := write(c.fd, out); err != 0 || w != len(out) {
				return false
			}
		} else {
			c.ok = c.buf[1] == typeQuote
		}
		copy(c.buf[:], c.buf[end:c.n])
		c.n -= end
	}
	return true
}

func (g *gen) finish(c *conn, ok bool) {
	closeFd(c.fd) // closing the only descriptor also takes it out of the epoll set
	g.byFd[c.fd] = nil
	c.fd = -1
	g.free = append(g.free, c)
	g.inflight--
	if ok {
		g.done++
	} else {
		g.failed++
	}
}

var clockTicks = 100.0 // USER_HZ: 100 on Linux (what bench/handshake.ts assumes for the servers too)

// cpuSeconds is this process's utime + stime and its stime (every thread) from /proc/self/stat, or 0 without /proc.
func cpuSeconds() (float64, float64) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0
	}
	i := len(b) - 1
	for i >= 0 && b[i] != ')' {
		i--
	}
	f := splitFields(b[i+2:])
	if len(f) < 13 {
		return 0, 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / clockTicks, s / clockTicks
}

func splitFields(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == ' ' || c == '\n' {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
