// Command loadgen drives a running Airlock (or the bare yardstick server of
// bench/bare) on this machine and reports throughput and latencies. It only
// ever targets loopback addresses, and every run is bounded in requests and
// in time.
//
//	go run ./bench/loadgen -scenario forgot -n 3000 -c 8             # web form, 3 classes
//	go run ./bench/loadgen -scenario api-forgot -duration 5s -c 64   # JSON API, existing vs unknown
//	go run ./bench/loadgen -scenario login -duration 10s -c 4        # password grant
//	go run ./bench/loadgen -scenario argon2 -duration 5s             # raw argon2id on every core
//	go run ./bench/loadgen -scenario burst -c 500 -pid PID           # 500 sign-ins at once, peak RSS
//	go run ./bench/loadgen -scenario emails -n 1000 -smtp 127.0.0.1:18025
//	go run ./bench/loadgen -scenario latency -urls http://127.0.0.1:18081,http://127.0.0.1:18082 -n 200 -rate 5
//	go run ./bench/loadgen -scenario flood -c 64 -duration 20s -accounts 1000 -pids PID   # issue 23
//
// Every scenario ends with one "result" line of key=value pairs, for
// bench/compare.sh.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type options struct {
	target   *url.URL
	scenario string
	n, c     int
	duration time.Duration
	warmup   time.Duration
	maxTime  time.Duration
	existing string
	inactive string
	accounts int
	format   string
	password string
	pid      int
	smtp     string
	// latency
	urls       []*url.URL
	rate       float64
	relayDelay time.Duration
	settle     time.Duration
	// flood
	pids         []int
	postgresDB   string
	queueDB      string
	personRate   float64
	persons      int
	personFormat string
	after        time.Duration
	emailWait    time.Duration
	idleMax      time.Duration
}

func run() error {
	var o options
	target := flag.String("url", "http://127.0.0.1:18081", "the server's base URL (loopback only)")
	urls := flag.String("urls", "", "latency: the nodes' base URLs, comma-separated (loopback only); empty: -url")
	flag.StringVar(&o.scenario, "scenario", "forgot", "forgot | api-forgot | login | burst | argon2 | emails | latency | flood")
	flag.IntVar(&o.n, "n", 2000, "total requests (at most 100000); with -duration, an upper bound")
	flag.IntVar(&o.c, "c", 8, "concurrent clients (at most 1000)")
	flag.DurationVar(&o.duration, "duration", 0, "run for this long instead of -n requests (at most 2m)")
	flag.DurationVar(&o.warmup, "warmup", 0, "with -duration: load first for this long without counting")
	flag.DurationVar(&o.maxTime, "max-time", 2*time.Minute, "stop after this long whatever happens (at most 10m)")
	flag.StringVar(&o.existing, "existing", "bench-user@example.com", "an active account")
	flag.StringVar(&o.inactive, "inactive", "bench-inactive@example.com", "an inactive account (forgot)")
	flag.IntVar(&o.accounts, "accounts", 0, "api-forgot, emails: existing accounts are -format with 0..accounts-1 (0: -existing only)")
	flag.StringVar(&o.format, "format", "bench-%d@example.com", "the address of existing account i")
	flag.StringVar(&o.password, "password", "bench password for the load", "the active account's password (login, burst)")
	flag.IntVar(&o.pid, "pid", 0, "burst: the server's process id, to read its peak RSS")
	flag.StringVar(&o.smtp, "smtp", "127.0.0.1:18025", "emails, latency: where the SMTP sink listens (loopback only)")
	flag.Float64Var(&o.rate, "rate", 0, "latency: requests per second (0: as fast as -c clients go)")
	flag.DurationVar(&o.relayDelay, "relay-delay", 0, "emails, latency: the sink waits at random up to this long before answering each message (a slow relay)")
	flag.DurationVar(&o.settle, "settle", 0, "latency: once every email came, keep listening this long for second copies")
	pids := flag.String("pids", "", "flood: the server processes' ids, comma-separated: the backlog and CPU per accepted request")
	flag.StringVar(&o.postgresDB, "postgres-db", "", "flood: count the CPU of the PostgreSQL backends connected to this database too")
	flag.StringVar(&o.queueDB, "queue-db", "", "flood: the servers' AIRLOCK_DATABASE_URL, to sample their queue of jobs every second (read-only)")
	flag.Float64Var(&o.personRate, "person-rate", 2, "flood: a person asks for a link this often a second (0: the flood alone)")
	flag.IntVar(&o.persons, "persons", 200, "flood: the person accounts, -person-format with 0..persons-1, never named by the flood")
	flag.StringVar(&o.personFormat, "person-format", "person-%d@example.com", "flood: the address of person account k")
	flag.DurationVar(&o.after, "after", 15*time.Second, "flood: the person goes on this long past 5 s after the flood")
	flag.DurationVar(&o.emailWait, "email-wait", 90*time.Second, "flood: then wait at most this long for the persons' emails")
	flag.DurationVar(&o.idleMax, "idle-max", 3*time.Minute, "flood: wait at most this long after the flood for the servers to be idle")
	flag.Parse()
	for _, f := range strings.Split(*pids, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("-pids: %w", err)
		}
		o.pids = append(o.pids, pid)
	}
	if o.persons < 1 || o.personRate < 0 {
		return errors.New("-persons must be at least 1 and -person-rate not negative")
	}
	if o.n < 1 || o.n > 100000 || o.c < 1 || o.c > 1000 || o.duration < 0 || o.duration > 2*time.Minute || o.maxTime <= 0 || o.maxTime > 10*time.Minute {
		return errors.New("-n must be 1..100000, -c 1..1000, -duration at most 2m and -max-time at most 10m")
	}
	u, err := url.Parse(*target)
	if err != nil {
		return err
	}
	if err := loopbackOnly(u.Hostname()); err != nil {
		return err
	}
	o.target = u
	o.urls = []*url.URL{u}
	if *urls != "" {
		if o.urls, err = parseURLs(*urls); err != nil {
			return err
		}
	}
	switch o.scenario {
	case "latency":
		return latency(o)
	case "flood":
		return flood(o)
	case "argon2":
		return rawArgon2(o)
	case "emails":
		return emails(o)
	case "burst":
		return burst(o)
	case "forgot", "api-forgot", "login":
		return load(o)
	}
	return fmt.Errorf("unknown scenario %q", o.scenario)
}

// sample is one answered request.
type sample struct {
	class  string
	d      time.Duration
	status int
}

// builder returns request i and its class.
type builder func(i int) (req []byte, class string)

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (o options) builder() builder {
	host := o.target.Host
	switch o.scenario {
	case "forgot":
		// The web form, one third each existing, unknown and inactive.
		return func(i int) ([]byte, string) {
			email, class := o.existing, "existing"
			switch i % 3 {
			case 1:
				email, class = fmt.Sprintf("nobody-%d@example.com", i), "unknown"
			case 2:
				email, class = o.inactive, "inactive"
			}
			return request(host, "/password/forgot", "application/x-www-form-urlencoded",
				[]byte(url.Values{"email": {email}}.Encode())), class
		}
	case "api-forgot":
		// The JSON API, half existing and half unknown addresses.
		return func(i int) ([]byte, string) {
			email, class := fmt.Sprintf("nobody-%d@example.com", i), "unknown"
			if i%2 == 0 {
				email, class = o.existing, "existing"
				if o.accounts > 0 {
					email = fmt.Sprintf(o.format, (i/2)%o.accounts)
				}
			}
			return request(host, "/api/v1/password/forgot", "application/json", jsonBody(map[string]string{"email": email})), class
		}
	default: // login
		body := jsonBody(map[string]string{"grant_type": "password", "username": o.existing, "password": o.password})
		req := request(host, "/api/v1/auth/token", "application/json", body)
		return func(int) ([]byte, string) { return req, "token" }
	}
}

// load runs a closed loop of o.c clients.
func load(o options) error {
	build := o.builder()
	stop := time.Now().Add(o.maxTime)
	var counting time.Time // when samples start to count
	if o.duration > 0 {
		counting = time.Now().Add(o.warmup)
		stop = counting.Add(o.duration)
	}
	var mu sync.Mutex
	samples := make([]sample, 0, min(o.n, 200000))
	var next atomic.Int64
	var failed atomic.Int64
	start := time.Now()
	cpuStart := make(chan float64, 1) // the server's CPU seconds when samples start to count
	if o.pid > 0 {
		go func() {
			time.Sleep(time.Until(counting))
			cpuStart <- cpuSeconds(o.pid)
		}()
	}
	var wg sync.WaitGroup
	for w := 0; w < o.c; w++ {
		wg.Go(func() {
			cl := &rawClient{addr: o.target.Host}
			defer cl.close()
			local := make([]sample, 0, 1024)
			for {
				i := int(next.Add(1))
				if o.duration == 0 && i > o.n || time.Now().After(stop) {
					break
				}
				req, class := build(i)
				t0 := time.Now()
				a, err := cl.do(req, t0.Add(30*time.Second))
				d := time.Since(t0)
				if err != nil {
					failed.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if t0.Before(counting) {
					continue
				}
				local = append(local, sample{class, d, a.status})
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if o.duration > 0 {
		elapsed = time.Since(counting)
	}
	cpu := 0.0
	if o.pid > 0 {
		cpu = cpuSeconds(o.pid) - <-cpuStart
	}
	return report(o, samples, int(failed.Load()), elapsed, cpu)
}

func report(o options, samples []sample, failed int, elapsed time.Duration, cpu float64) error {
	byClass := map[string][]time.Duration{}
	var all []time.Duration
	statuses := map[int]int{}
	for _, s := range samples {
		byClass[s.class] = append(byClass[s.class], s.d)
		all = append(all, s.d)
		statuses[s.status]++
	}
	rps := float64(len(samples)) / elapsed.Seconds()
	fmt.Printf("scenario %s: %d requests, %d clients, %.1fs, %.0f req/s, statuses %v, connection errors %d\n",
		o.scenario, len(samples), o.c, elapsed.Seconds(), rps, statuses, failed)
	classes := make([]string, 0, len(byClass))
	for k := range byClass {
		classes = append(classes, k)
	}
	slices.Sort(classes)
	for _, k := range classes {
		ds := byClass[k]
		slices.Sort(ds)
		fmt.Printf("  %-9s n=%-6d mean=%-10s p50=%-10s p90=%-10s p99=%-10s max=%s\n", k, len(ds), ms(mean(ds)),
			ms(quantile(ds, .5)), ms(quantile(ds, .9)), ms(quantile(ds, .99)), ms(ds[len(ds)-1]))
	}
	slices.Sort(all)
	result := fmt.Sprintf("result scenario=%s clients=%d n=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f failed=%d",
		o.scenario, o.c, len(samples), rps, float64(quantile(all, .5))/1e6, float64(quantile(all, .99))/1e6, failed)
	for _, st := range []int{200, 202, 429, 500, 503} {
		result += fmt.Sprintf(" s%d=%d", st, statuses[st])
	}
	if cpu > 0 {
		// Throughput per second of the server's own CPU: what the server
		// does with the cores it gets, whatever else the machine runs.
		fmt.Printf("  server CPU: %.2f s for %d requests: %.1f requests per CPU-second\n", cpu, len(samples), float64(len(samples))/cpu)
		result += fmt.Sprintf(" server_cpu_s=%.3f per_cpu_s=%.2f", cpu, float64(len(samples))/cpu)
	}
	if ex, un := byClass["existing"], byClass["unknown"]; len(ex) > 0 && len(un) > 0 {
		// ex and un are sorted by now.
		_, p := mannWhitney(ex, un)
		diff := quantile(ex, .5) - quantile(un, .5)
		fmt.Printf("  timing existing vs unknown: medians %s vs %s (difference %s), Mann-Whitney p=%.4g\n",
			ms(quantile(ex, .5)), ms(quantile(un, .5)), ms(diff), p)
		result += fmt.Sprintf(" mw_p=%.4g median_diff_ms=%.3f", p, float64(diff)/1e6)
	}
	fmt.Println(result)
	return nil
}

// rawArgon2 hashes with Airlock's production argon2id parameters on every
// core, as fast as it can: the ceiling of sign-ins per second.
func rawArgon2(o options) error {
	d := o.duration
	if d == 0 {
		d = 5 * time.Second
	}
	workers := runtime.NumCPU()
	var count atomic.Int64
	stop := time.Now().Add(d)
	start := time.Now()
	cpu0 := cpuSeconds(os.Getpid())
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			salt := make([]byte, 16)
			for time.Now().Before(stop) {
				argon2.IDKey([]byte(o.password), salt, 2, 19456, 1, 32)
				count.Add(1)
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	cpu := cpuSeconds(os.Getpid()) - cpu0
	hps := float64(count.Load()) / el.Seconds()
	fmt.Printf("raw argon2id m=19456,t=2,p=1 on %d goroutines: %d hashes in %.1fs, %.1f hashes/s, %.1f hashes per CPU-second\n",
		workers, count.Load(), el.Seconds(), hps, float64(count.Load())/cpu)
	fmt.Printf("result scenario=argon2 workers=%d hps=%.2f per_cpu_s=%.2f\n", workers, hps, float64(count.Load())/cpu)
	return nil
}

// burst sends o.c sign-ins at the same instant on o.c connections opened
// beforehand, and reports the answers and the server's peak RSS.
func burst(o options) error {
	build := o.builder()
	req, _ := build(0)
	clients := make([]*rawClient, o.c)
	for i := range clients {
		clients[i] = &rawClient{addr: o.target.Host}
		if err := clients[i].connect(); err != nil {
			return err
		}
		defer clients[i].close()
	}
	rssBefore := peakRSS(o.pid)
	gate := make(chan struct{})
	var mu sync.Mutex
	statuses := map[int]int{}
	var noRetryAfter, failed int
	var ds []time.Duration
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Go(func() {
			<-gate
			t0 := time.Now()
			a, err := cl.do(req, t0.Add(60*time.Second))
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			statuses[a.status]++
			ds = append(ds, d)
			if a.status == 503 && a.retryAfter == "" {
				noRetryAfter++
			}
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	el := time.Since(start)
	slices.Sort(ds)
	peak := peakRSS(o.pid)
	other := 0
	for st, n := range statuses {
		if st != 200 && st != 503 {
			other += n
		}
	}
	fmt.Printf("burst of %d sign-ins: %.1fs, statuses %v, 503 without Retry-After %d, connection errors %d, p50=%s p99=%s max=%s\n",
		o.c, el.Seconds(), statuses, noRetryAfter, failed, ms(quantile(ds, .5)), ms(quantile(ds, .99)), ms(quantile(ds, 1)))
	if o.pid > 0 {
		fmt.Printf("  server peak RSS (VmHWM): %.1f MiB before the burst, %.1f MiB after\n", rssBefore, peak)
	}
	fmt.Printf("result scenario=burst clients=%d s200=%d s503=%d other=%d no_retry_after=%d failed=%d peak_rss_mib=%.1f\n",
		o.c, statuses[200], statuses[503], other, noRetryAfter, failed, peak)
	return nil
}

// cpuSeconds reads the CPU time (user and system) a process has used.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count from after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks: USER_HZ is 100 on Linux
}

// peakRSS reads a process's peak resident set size (VmHWM), in MiB.
func peakRSS(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(string(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// loopbackOnly refuses any target that is not this machine.
func loopbackOnly(host string) error {
	addrs, err := net.LookupIP(host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if !a.IsLoopback() {
			return fmt.Errorf("refusing %s: load is only ever sent to loopback addresses", host)
		}
	}
	return nil
}
