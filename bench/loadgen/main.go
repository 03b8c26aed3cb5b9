// Command loadgen drives a running Airlock on this machine and reports
// latencies. It only ever targets loopback addresses, and every run is
// bounded in requests and in time.
//
//	go run ./bench/loadgen -url http://127.0.0.1:18081 -scenario forgot -n 3000 -c 8
//	go run ./bench/loadgen -url http://127.0.0.1:18081 -scenario login -n 200 -c 16
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run() error {
	target := flag.String("url", "http://127.0.0.1:18081", "Airlock's base URL (loopback only)")
	scenario := flag.String("scenario", "forgot", "forgot | login")
	n := flag.Int("n", 2000, "total requests (at most 100000)")
	c := flag.Int("c", 8, "concurrent clients (at most 256)")
	maxTime := flag.Duration("max-time", 2*time.Minute, "stop after this long whatever happens")
	existing := flag.String("existing", "bench-user@example.com", "an active account")
	inactive := flag.String("inactive", "bench-inactive@example.com", "an inactive account")
	pass := flag.String("password", "bench password for the load", "the active account's password (login)")
	flag.Parse()
	if *n < 1 || *n > 100000 || *c < 1 || *c > 256 {
		return errors.New("-n must be 1..100000 and -c 1..256")
	}
	u, err := url.Parse(*target)
	if err != nil {
		return err
	}
	if err := loopbackOnly(u.Hostname()); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *maxTime)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *c}}

	type sample struct {
		class  string
		d      time.Duration
		status int
	}
	var mu sync.Mutex
	var samples []sample
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *c; w++ {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1))
				if i > *n {
					return
				}
				var req *http.Request
				class := ""
				switch *scenario {
				case "forgot":
					emails := map[int]string{0: *existing, 1: fmt.Sprintf("nobody-%d@example.com", i), 2: *inactive}
					class = map[int]string{0: "existing", 1: "unknown", 2: "inactive"}[i%3]
					form := url.Values{"email": {emails[i%3]}}.Encode()
					req, _ = http.NewRequestWithContext(ctx, "POST", *target+"/password/forgot", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				case "login":
					class = "token"
					body := fmt.Sprintf(`{"grant_type":"password","username":%q,"password":%q}`, *existing, *pass)
					req, _ = http.NewRequestWithContext(ctx, "POST", *target+"/api/v1/auth/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
				default:
					return
				}
				t0 := time.Now()
				res, err := client.Do(req)
				d := time.Since(t0)
				status := 0
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					status = res.StatusCode
				}
				mu.Lock()
				samples = append(samples, sample{class, d, status})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if *scenario != "forgot" && *scenario != "login" {
		return fmt.Errorf("unknown scenario %q", *scenario)
	}

	byClass := map[string][]time.Duration{}
	statuses := map[int]int{}
	for _, s := range samples {
		byClass[s.class] = append(byClass[s.class], s.d)
		statuses[s.status]++
	}
	fmt.Printf("scenario %s: %d requests, %d clients, %.1fs, %.0f req/s, statuses %v\n",
		*scenario, len(samples), *c, elapsed.Seconds(), float64(len(samples))/elapsed.Seconds(), statuses)
	classes := make([]string, 0, len(byClass))
	for k := range byClass {
		classes = append(classes, k)
	}
	slices.Sort(classes)
	for _, k := range classes {
		ds := byClass[k]
		slices.Sort(ds)
		p := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		fmt.Printf("  %-9s n=%-5d mean=%-9s p50=%-9s p90=%-9s p99=%-9s max=%s\n", k, len(ds),
			(sum / time.Duration(len(ds))).Round(time.Microsecond), p(.5).Round(time.Microsecond), p(.9).Round(time.Microsecond),
			p(.99).Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond))
	}
	// The server's resident memory, from its own metrics.
	if res, err := client.Get(*target + "/metrics"); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "process_resident_memory_bytes ") {
				var v float64
				fmt.Sscanf(strings.TrimPrefix(line, "process_resident_memory_bytes "), "%g", &v)
				fmt.Printf("  server RSS after the run: %.0f MiB\n", v/(1<<20))
			}
		}
	}
	return nil
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
