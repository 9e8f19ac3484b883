package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// measurement is one `loadgen load` run, labelled by the script:
//
//	round=2 path=challenge c=16 contender=ours ok=... fail=... rps=... p50_us=... p99_us=...
type measurement struct {
	round      int
	path       string
	c          int
	contender  string
	ok, fail   int
	rps        float64
	p50, p99   float64 // milliseconds
	p90, maxMs float64
	// CPU time per request, microseconds: the contender's processes, and
	// the upstream's.
	proxyCPU, upstreamCPU float64
}

// record is a footprint or flood line: its key=value fields.
type record map[string]string

func parseMeasurements(r io.Reader) (ms []measurement, footprints, floods []record, err error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kv := record{}
		for _, field := range strings.Fields(line) {
			k, v, _ := strings.Cut(field, "=")
			kv[k] = v
		}
		switch {
		case strings.HasPrefix(line, "footprint "):
			footprints = append(footprints, kv)
			continue
		case strings.HasPrefix(line, "flood "):
			floods = append(floods, kv)
			continue
		case strings.HasPrefix(line, "syscalls "):
			continue // tabulated by bench-dataplane.sh itself
		}
		num := func(k string) float64 { f, _ := strconv.ParseFloat(kv[k], 64); return f }
		if kv["contender"] == "" || kv["path"] == "" {
			return nil, nil, nil, fmt.Errorf("not a measurement: %q", line)
		}
		ms = append(ms, measurement{
			round: int(num("round")), path: kv["path"], c: int(num("c")), contender: kv["contender"],
			ok: int(num("ok")), fail: int(num("fail")), rps: num("rps"),
			p50: num("p50_us") / 1000, p90: num("p90_us") / 1000, p99: num("p99_us") / 1000, maxMs: num("max_us") / 1000,
			proxyCPU: num("proxy_cpu_us"), upstreamCPU: num("upstream_cpu_us"),
		})
	}
	return ms, footprints, floods, s.Err()
}

func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	v := slices.Clone(values)
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// summarize prints the Markdown tables of docs/performance.md from the
// measurement lines the script wrote. Ratios are taken within each round,
// whose contenders ran back to back, and the median of those is reported.
func summarize(args []string) error {
	fs := flag.NewFlagSet("summarize", flag.ExitOnError)
	fs.Parse(args)
	var in io.Reader = os.Stdin
	if fs.NArg() > 0 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	ms, footprints, floods, err := parseMeasurements(in)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		printThroughput(ms)
	}
	printFootprint(footprints, floods)
	return nil
}

func printThroughput(ms []measurement) {

	type key struct {
		path, contender string
		c               int
	}
	byKey := map[key][]measurement{}
	var concurrencies []int
	var contenders []string
	rounds := 0
	for _, m := range ms {
		k := key{m.path, m.contender, m.c}
		byKey[k] = append(byKey[k], m)
		if !slices.Contains(concurrencies, m.c) {
			concurrencies = append(concurrencies, m.c)
		}
		if !slices.Contains(contenders, m.contender) {
			contenders = append(contenders, m.contender)
		}
		rounds = max(rounds, m.round)
	}
	sort.Ints(concurrencies)
	field := func(k key, get func(measurement) float64) []float64 {
		var v []float64
		for _, m := range byKey[k] {
			v = append(v, get(m))
		}
		return v
	}
	// perRound pairs a's and b's measurements of the same round.
	perRound := func(a, b key, f func(x, y measurement) float64) []float64 {
		var v []float64
		for _, x := range byKey[a] {
			for _, y := range byKey[b] {
				if x.round == y.round {
					v = append(v, f(x, y))
				}
			}
		}
		return v
	}
	rps := func(m measurement) float64 { return m.rps }
	p50 := func(m measurement) float64 { return m.p50 }
	p99 := func(m measurement) float64 { return m.p99 }
	cpu := func(m measurement) float64 { return m.proxyCPU }
	fails := func(k key) int {
		n := 0
		for _, m := range byKey[k] {
			n += m.fail
		}
		return n
	}
	ratio := func(x, y measurement) float64 {
		if y.rps == 0 {
			return 0
		}
		return x.rps / y.rps
	}

	fmt.Printf("Medians of %d rounds; each round ran every contender back to back.\n\n", rounds)
	fmt.Println("**Challenge path** (GET /.well-known/acme-challenge/<43-char token>, 200 from the upstream)")
	fmt.Println()
	fmt.Println("| concurrency | contender | req/s | p50 ms | p99 ms | failed | proxy CPU µs/req |")
	fmt.Println("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
	for _, c := range concurrencies {
		for _, who := range contenders {
			k := key{"challenge", who, c}
			if len(byKey[k]) == 0 {
				continue
			}
			fmt.Printf("| %d | %s | %.0f | %.2f | %.2f | %d | %s |\n", c, who,
				median(field(k, rps)), median(field(k, p50)), median(field(k, p99)), fails(k), cpuCell(who, median(field(k, cpu))))
		}
	}
	fmt.Println()
	fmt.Println("**Ratios** (per round, then the median; +p50/+p99: the contender's minus DNAT's, same round)")
	fmt.Println()
	fmt.Println("| concurrency | contender | req/s ÷ nginx | req/s ÷ DNAT | req/s ÷ ours | +p50 over DNAT ms | +p99 over DNAT ms |")
	fmt.Println("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
	for _, c := range concurrencies {
		for _, who := range contenders {
			if who == "dnat" {
				continue
			}
			k := key{"challenge", who, c}
			if len(byKey[k]) == 0 {
				continue
			}
			nginx, dnat, ours := key{"challenge", "nginx", c}, key{"challenge", "dnat", c}, key{"challenge", "ours", c}
			fmt.Printf("| %d | %s | %.2f | %.2f | %.2f | %+.2f | %+.2f |\n", c, who,
				median(perRound(k, nginx, ratio)), median(perRound(k, dnat, ratio)), median(perRound(k, ours, ratio)),
				median(perRound(k, dnat, func(x, y measurement) float64 { return x.p50 - y.p50 })),
				median(perRound(k, dnat, func(x, y measurement) float64 { return x.p99 - y.p99 })))
		}
	}

	var rejectCs []int
	for _, c := range concurrencies {
		if len(byKey[key{"reject", "ours", c}]) > 0 {
			rejectCs = append(rejectCs, c)
		}
	}
	if len(rejectCs) > 0 {
		fmt.Println()
		fmt.Println("**Reject path** (GET / answered 404 by the filter itself; DNAT has no filter)")
		fmt.Println()
		fmt.Println("| concurrency | contender | req/s | p50 ms | p99 ms | failed | proxy CPU µs/req | reject/challenge req/s (same contender) |")
		fmt.Println("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, c := range rejectCs {
			for _, who := range contenders {
				k := key{"reject", who, c}
				if len(byKey[k]) == 0 {
					continue
				}
				fmt.Printf("| %d | %s | %.0f | %.2f | %.2f | %d | %s | %.2f |\n", c, who,
					median(field(k, rps)), median(field(k, p50)), median(field(k, p99)), fails(k),
					cpuCell(who, median(field(k, cpu))), median(perRound(k, key{"challenge", who, c}, ratio)))
			}
			fmt.Printf("| %d | ours ÷ nginx | %.2f | | | | | |\n", c,
				median(perRound(key{"reject", "ours", c}, key{"reject", "nginx", c}, ratio)))
		}
	}
	fmt.Println()
}

func kib(r record, k string) string {
	v, err := strconv.ParseFloat(r[k], 64)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f", v/1024)
}

func printFootprint(footprints, floods []record) {
	if len(footprints) > 0 {
		fmt.Println("**Footprint idle** (MiB; RSS = anonymous + file-backed, i.e. the binary's pages)")
		fmt.Println()
		fmt.Println("| contender | processes | RSS fresh | anonymous fresh | RSS after the load | anonymous after the load |")
		fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
		for _, f := range footprints {
			fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", f["contender"], f["processes"], kib(f, "rss_fresh_kib"),
				kib(f, "anon_fresh_kib"), kib(f, "rss_after_load_kib"), kib(f, "anon_after_load_kib"))
		}
		fmt.Println()
	}
	if len(floods) > 0 {
		fmt.Println("**Flood** (slow connections held to API_VIP:80, reopened when closed; a challenge probe every second, 20 s timeout)")
		fmt.Println()
		fmt.Println("| contender | slow conns | ever open | closed by the daemon | probes answered | under 1 s | probe p50 ms | probe max ms | max RSS MiB | max anonymous MiB | RSS 10 s after MiB |")
		fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, f := range floods {
			if f["flood_conns"] == "" {
				fmt.Printf("| %s | failed | | | | | | | | | |\n", f["contender"])
				continue
			}
			fmt.Printf("| %s | %s | %s | %s | %s/%s | %s | %s | %s | %s | %s | %s |\n", f["contender"], f["flood_conns"], f["ever_open"],
				f["server_closed"], f["probes_ok"], f["probes"], f["probes_under_1s"], f["probe_p50_ms"], f["probe_max_ms"],
				kib(f, "server_max_rss_kib"), kib(f, "server_max_anon_kib"), kib(f, "rss_after_flood_kib"))
		}
		fmt.Println()
	}
}

// cpuCell formats CPU time per request; DNAT has no process to account.
func cpuCell(contender string, us float64) string {
	if contender == "dnat" {
		return "(kernel)"
	}
	return fmt.Sprintf("%.0f", us)
}
