// Command loadgen is the HTTP/1.1 client of hack/bench-dataplane.sh. It speaks
// raw HTTP over TCP so that what it measures is the server side, not a client
// library:
//
//	loadgen load   closed-loop load: C workers, each opening a connection per
//	               request ("Connection: close", as an ACME validator does),
//	               printing req/s and latency percentiles on one line
//	loadgen get    one request, printed, optionally retried until it answers
//	               with the expected status (readiness and sanity checks)
//	loadgen flood  opens and holds N slow connections (reopening those the
//	               server closes) while probing with real challenge requests,
//	               printing a timeline and the probes' latencies
//	loadgen summarize  turns the script's result lines into Markdown tables
//
// Latency is measured from before the dial to the end of the response (the
// server closing the connection), so it includes the TCP handshake, as an
// ACME validator sees it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = load(os.Args[2:])
	case "get":
		err = get(os.Args[2:])
	case "flood":
		err = flood(os.Args[2:])
	case "summarize":
		err = summarize(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen load|get|flood|summarize [flags]")
	os.Exit(2)
}

// target is one HTTP request to send.
type target struct {
	addr    string
	request []byte
	expect  int
	timeout time.Duration
}

func addTargetFlags(fs *flag.FlagSet) func() target {
	addr := fs.String("addr", "", "host:port to connect to")
	host := fs.String("host", "api.cluster.example.test", "Host header")
	method := fs.String("method", "GET", "request method")
	path := fs.String("path", "/", "request target")
	expect := fs.Int("expect", 200, "status a successful response has")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on one request, dial included")
	return func() target {
		req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: h01b-loadgen\r\nAccept: */*\r\nConnection: close\r\n\r\n",
			*method, *path, *host)
		return target{addr: *addr, request: []byte(req), expect: *expect, timeout: *timeout}
	}
}

var errStatus = errors.New("unexpected status")

// do sends one request on a new connection and reads the response until the
// server closes the connection. buf is scratch space for the response.
func (t target) do(dialer *net.Dialer, buf []byte) (status int, body []byte, err error) {
	deadline := time.Now().Add(t.timeout)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	conn, err := dialer.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write(t.request); err != nil {
		return 0, nil, err
	}
	n := 0
	for {
		if n == len(buf) {
			// Responses here are small; anything bigger is drained.
			if _, err := io.Copy(io.Discard, conn); err != nil {
				return 0, nil, err
			}
			break
		}
		m, err := conn.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, err
		}
	}
	resp := buf[:n]
	// "HTTP/1.1 200 OK"
	if len(resp) < 12 || !bytes.HasPrefix(resp, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("not an HTTP response: %q", truncate(resp))
	}
	status, err = strconv.Atoi(string(resp[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line: %q", truncate(resp))
	}
	if i := bytes.Index(resp, []byte("\r\n\r\n")); i >= 0 {
		body = resp[i+4:]
	}
	if status != t.expect {
		return status, body, fmt.Errorf("%w %d, want %d", errStatus, status, t.expect)
	}
	return status, body, nil
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// load runs the closed-loop benchmark and prints one line of key=value.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	newTarget := addTargetFlags(fs)
	concurrency := fs.Int("c", 16, "concurrent workers (connections)")
	duration := fs.Duration("d", 3*time.Second, "measured time")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "unmeasured time before it")
	fs.Parse(args)
	t := newTarget()

	start := time.Now()
	measureFrom := start.Add(*warmup)
	end := measureFrom.Add(*duration)
	type result struct {
		latencies []time.Duration
		failures  int
		done      int // every completed request, the warm-up's too
		firstErr  error
	}
	results := make([]result, *concurrency)
	var wg sync.WaitGroup
	for w := range *concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[w]
			r.latencies = make([]time.Duration, 0, 1<<14)
			dialer := &net.Dialer{}
			buf := make([]byte, 4096)
			for {
				begin := time.Now()
				if !begin.Before(end) {
					return
				}
				_, _, err := t.do(dialer, buf)
				r.done++
				if begin.Before(measureFrom) {
					continue
				}
				if err != nil {
					r.failures++
					if r.firstErr == nil {
						r.firstErr = err
					}
					continue
				}
				r.latencies = append(r.latencies, time.Since(begin))
			}
		}()
	}
	wg.Wait()

	var all []time.Duration
	failures, done := 0, 0
	var firstErr error
	for _, r := range results {
		all = append(all, r.latencies...)
		failures += r.failures
		done += r.done
		if firstErr == nil {
			firstErr = r.firstErr
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	fmt.Printf("ok=%d fail=%d all=%d rps=%.0f p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
		len(all), failures, done, float64(len(all))/duration.Seconds(),
		percentile(all, 50).Microseconds(), percentile(all, 90).Microseconds(),
		percentile(all, 99).Microseconds(), percentile(all, 100).Microseconds())
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %d failed requests, the first: %v\n", failures, firstErr)
	}
	return nil
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.5) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// get sends one request and prints the status, body and latency.
func get(args []string) error {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	newTarget := addTargetFlags(fs)
	wait := fs.Duration("wait", 0, "retry until the expected status arrives, for at most this long")
	wantBody := fs.String("body", "", "if set, the body the response must have")
	quiet := fs.Bool("q", false, "print nothing on success")
	fs.Parse(args)
	t := newTarget()

	deadline := time.Now().Add(*wait)
	buf := make([]byte, 64<<10)
	for {
		begin := time.Now()
		status, body, err := t.do(&net.Dialer{}, buf)
		if err == nil && *wantBody != "" && string(body) != *wantBody {
			err = fmt.Errorf("body %q, want %q", truncate(body), *wantBody)
		}
		if err == nil {
			if !*quiet {
				fmt.Printf("status=%d latency_us=%d body=%q\n", status, time.Since(begin).Microseconds(), truncate(body))
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w", t.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// flood holds -conns slow connections open against -addr and probes -probe
// with a real request every -probe-interval. Each slow connection sends the
// start of a request line, then one more byte every -trickle (never, if 0);
// when the server closes it, it is reopened (-reopen), as a determined
// client would. Dials run -dial-concurrency at a time, and a dial that has
// not completed in -dial-timeout is retried.
func flood(args []string) error {
	fs := flag.NewFlagSet("flood", flag.ExitOnError)
	newTarget := addTargetFlags(fs)
	conns := fs.Int("conns", 10000, "slow connections to hold")
	hold := fs.Duration("hold", 30*time.Second, "how long to hold them once opened (or tried to)")
	trickle := fs.Duration("trickle", 2*time.Second, "send one more header byte this often; 0 sends nothing after the first bytes")
	reopen := fs.Bool("reopen", true, "reopen connections the server closes")
	dialConcurrency := fs.Int("dial-concurrency", 256, "dials in flight at once")
	dialTimeout := fs.Duration("dial-timeout", 3*time.Second, "bound on one slow connection's dial")
	probeInterval := fs.Duration("probe-interval", time.Second, "time between challenge probes")
	pidFile := fs.Int("pid", 0, "a process whose RSS to sample every second (the server)")
	fs.Parse(args)
	probe := newTarget()

	// Ctrl-C or SIGTERM ends the flood early with what was measured; then
	// the signal is raised again so that the calling shell sees it.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var caught atomic.Value
	go func() {
		sig := <-signals
		caught.Store(sig)
		cancel()
	}()
	defer func() {
		if sig, ok := caught.Load().(os.Signal); ok {
			signal.Reset()
			syscall.Kill(os.Getpid(), sig.(syscall.Signal))
			time.Sleep(time.Second)
		}
	}()

	var (
		open, dialFails, dialTimeouts, serverClosed, reopened atomic.Int64
		everOpen                                              atomic.Int64
	)
	sem := make(chan struct{}, *dialConcurrency)
	dialer := &net.Dialer{Timeout: *dialTimeout}
	holdCtx, stopHolding := context.WithCancel(ctx)
	var wg sync.WaitGroup
	slow := func() {
		defer wg.Done()
		first := true
		for holdCtx.Err() == nil {
			sem <- struct{}{}
			conn, err := dialer.DialContext(holdCtx, "tcp", probe.addr)
			<-sem
			if err != nil {
				if holdCtx.Err() != nil {
					return
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					dialTimeouts.Add(1)
				} else {
					dialFails.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
				continue
			}
			if !first {
				reopened.Add(1)
			}
			first = false
			open.Add(1)
			everOpen.Add(1)
			closedByServer := holdConn(holdCtx, conn, *trickle)
			open.Add(-1)
			if !closedByServer {
				return
			}
			serverClosed.Add(1)
			if !*reopen {
				return
			}
		}
	}
	begin := time.Now()
	for range *conns {
		wg.Add(1)
		go slow()
	}

	type probeResult struct {
		at      time.Duration
		latency time.Duration
		err     error
	}
	var (
		probesMu sync.Mutex
		probes   []probeResult
		probeWG  sync.WaitGroup
	)
	runProbe := func() {
		defer probeWG.Done()
		at := time.Since(begin)
		start := time.Now()
		_, _, err := probe.do(&net.Dialer{}, make([]byte, 4096))
		probesMu.Lock()
		probes = append(probes, probeResult{at: at, latency: time.Since(start), err: err})
		probesMu.Unlock()
	}

	fmt.Printf("# flood: %d slow connections to %s (trickle %v, reopen %v) for %v; a probe every %v (timeout %v)\n",
		*conns, probe.addr, *trickle, *reopen, *hold, *probeInterval, probe.timeout)
	fmt.Println("t_s\topen\tever_open\tserver_closed\tdial_timeouts\tdial_errors\tserver_rss_kib\tserver_anon_kib")
	var maxRSS, maxAnon int64
	ticker := time.NewTicker(time.Second)
	probeTicker := time.NewTicker(*probeInterval)
	deadline := time.After(*hold)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			break loop
		case <-probeTicker.C:
			probeWG.Add(1)
			go runProbe()
		case <-ticker.C:
			rss, anon := readRSS(*pidFile)
			maxRSS, maxAnon = max(maxRSS, rss), max(maxAnon, anon)
			fmt.Printf("%.0f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", time.Since(begin).Seconds(), open.Load(), everOpen.Load(),
				serverClosed.Load(), dialTimeouts.Load(), dialFails.Load(), rss, anon)
		}
	}
	ticker.Stop()
	probeTicker.Stop()
	// Probes still waiting are part of the result: wait for them (each is
	// bounded by -timeout) while the flood is still on; unless interrupted.
	if ctx.Err() == nil {
		probeWG.Wait()
	}
	stopHolding()
	wg.Wait()
	probesMu.Lock()
	defer probesMu.Unlock()

	sort.Slice(probes, func(i, j int) bool { return probes[i].at < probes[j].at })
	var lat []time.Duration
	failed, under1s := 0, 0
	var firstErr error
	fmt.Println("# probes: t_s latency_ms result")
	for _, p := range probes {
		result := "ok"
		if p.err != nil {
			result = p.err.Error()
			failed++
			if firstErr == nil {
				firstErr = p.err
			}
		} else {
			lat = append(lat, p.latency)
			if p.latency < time.Second {
				under1s++
			}
		}
		fmt.Printf("#   %.1f %.1f %s\n", p.at.Seconds(), float64(p.latency.Microseconds())/1000, result)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("flood_conns=%d ever_open=%d server_closed=%d probes=%d probes_ok=%d probes_under_1s=%d probe_p50_ms=%.1f probe_max_ms=%.1f server_max_rss_kib=%d server_max_anon_kib=%d\n",
		*conns, everOpen.Load(), serverClosed.Load(), len(probes), len(lat), under1s,
		ms(percentile(lat, 50)), ms(percentile(lat, 100)), maxRSS, maxAnon)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// holdConn keeps conn open, trickling bytes, until ctx ends (false) or the
// server closes it (true).
func holdConn(ctx context.Context, conn net.Conn, trickle time.Duration) bool {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write([]byte("GET /.well-known/acme-challenge/")); err != nil {
		return ctx.Err() == nil
	}
	buf := make([]byte, 512)
	for {
		if trickle > 0 {
			conn.SetReadDeadline(time.Now().Add(trickle))
		}
		_, err := conn.Read(buf)
		if ctx.Err() != nil {
			return false
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if _, err := conn.Write([]byte("a")); err != nil {
				return true
			}
			continue
		}
		if err != nil {
			return true
		}
		// The server answered (e.g. 408 or 400); it closes next.
	}
}

// readRSS returns VmRSS and its anonymous part, RssAnon, of pid in KiB, or
// zeros. The rest of VmRSS is the binary's and libraries' clean file pages,
// which the kernel can drop under memory pressure; anonymous memory it
// cannot.
func readRSS(pid int) (rss, anon int64) {
	if pid == 0 {
		return 0, 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	kib := func(rest string) int64 {
		v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		return v
	}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			rss = kib(rest)
		} else if rest, ok := strings.CutPrefix(s.Text(), "RssAnon:"); ok {
			anon = kib(rest)
		}
	}
	return rss, anon
}
