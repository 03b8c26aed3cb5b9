package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// latency measures what a person waits for their reset email: from the
// moment the API answered their request to the moment the SMTP sink on
// o.smtp had the whole message. It asks for a reset of each of o.n
// accounts (-format with 0..n-1), round-robin over o.urls (several nodes
// of one database), o.rate a second (0: as fast as o.c clients go), then
// waits until every answered account got its email, and o.settle more
// for late second copies, or until o.maxTime from the start.
//
// A node that refuses connections (killed) is skipped, as a load balancer
// would: its requests go to the next node. A request whose connection
// broke after it was sent is not sent again: whether it was accepted is
// unknown, and its email, if one comes, has no answer to time it from.
func latency(o options) error {
	sink, stop, err := startSink(o.smtp, o.n, o.relayDelay)
	if err != nil {
		return err
	}
	defer stop()
	deadline := time.Now().Add(o.maxTime)

	// Requests are handed out on a channel: paced, or all at once.
	work := make(chan int, o.n)
	go func() {
		defer close(work)
		if o.rate <= 0 {
			for i := range o.n {
				work <- i
			}
			return
		}
		every := time.Duration(float64(time.Second) / o.rate)
		t := time.NewTicker(every)
		defer t.Stop()
		for i := range o.n {
			work <- i
			if time.Now().After(deadline) {
				return
			}
			<-t.C
		}
	}()

	var mu sync.Mutex
	answered := map[string]time.Time{} // recipient → when the answer came
	statuses := map[int]int{}
	var inFlight, redirected int
	down := make([]bool, len(o.urls)) // nodes seen refusing connections
	start := time.Now()
	var wg sync.WaitGroup
	for range o.c {
		wg.Go(func() {
			clients := clientsFor(o.urls)
			defer closeAll(clients)
			for i := range work {
				email := fmt.Sprintf(o.format, i)
				for try := range len(o.urls) {
					k := (i + try) % len(o.urls)
					mu.Lock()
					skip := down[k] && try < len(o.urls)-1
					mu.Unlock()
					if skip {
						continue
					}
					req := forgotFrom(o.urls[k].Host, email, "")
					// A broken kept-alive connection is tried again on a new
					// one: refused then, the request may still have gone out
					// on the old one.
					fresh := clients[k].c == nil
					a, err := clients[k].do(req, time.Now().Add(30*time.Second))
					at := time.Now()
					mu.Lock()
					if fresh && refused(err) {
						// Never sent: the next node gets it.
						down[k] = true
						redirected++
						mu.Unlock()
						continue
					}
					if err != nil {
						inFlight++
					} else {
						statuses[a.status]++
						if a.status == 202 || a.status == 204 {
							answered[strings.ToLower(email)] = at
						}
					}
					mu.Unlock()
					break
				}
			}
		})
	}
	wg.Wait()
	requestsDone := time.Since(start)

	// Wait for every answered account's email, then settle.
	timedOut := !sink.waitFor(answered, deadline)
	lastExpected := time.Since(start)
	if !timedOut && o.settle > 0 {
		time.Sleep(min(o.settle, time.Until(deadline)))
	}

	sink.mu.Lock()
	defer sink.mu.Unlock()
	var ds []time.Duration
	var missing, twice, sameID, otherID, unanswered, slow int
	var dupGaps []string
	for to, at := range answered {
		got := sink.got[to]
		if len(got) == 0 {
			missing++
			continue
		}
		ds = append(ds, got[0].at.Sub(at))
		if got[0].at.Sub(at) > 10*time.Second {
			slow++
		}
	}
	for to, got := range sink.got {
		if _, ok := answered[to]; !ok {
			unanswered++
		}
		if len(got) < 2 {
			continue
		}
		twice++
		same := true
		for _, d := range got[1:] {
			same = same && d.id == got[0].id
		}
		if same {
			sameID++
		} else {
			otherID++
		}
		dupGaps = append(dupGaps, fmt.Sprintf("%s x%d %.1fs apart (same Message-ID: %v)",
			to, len(got), got[len(got)-1].at.Sub(got[0].at).Seconds(), same))
	}
	slices.Sort(ds)
	slices.Sort(dupGaps)
	q := func(p float64) float64 { return float64(quantile(ds, p)) / 1e6 }
	rate := "at once"
	if o.rate > 0 {
		rate = fmt.Sprintf("at %g/s", o.rate)
	}
	fmt.Printf("latency: %d reset requests %s over %d nodes, sent in %.2fs: statuses %v, %d broke in flight, %d sent on to another node (refused)\n",
		o.n, rate, len(o.urls), requestsDone.Seconds(), statuses, inFlight, redirected)
	fmt.Printf("  %d of %d answered accounts got their email (%d missing), the last after %.2fs%s; %d got more than one (%d the same Message-ID, %d another); %d emails for accounts without an answer; %d SMTP connections\n",
		len(ds), len(answered), missing, lastExpected.Seconds(), map[bool]string{true: " (gave up waiting)", false: ""}[timedOut],
		twice, sameID, otherID, unanswered, sink.conns)
	fmt.Printf("  answered → at the sink: p50=%s p95=%s p99=%s max=%s; %d over 10 s\n",
		ms(quantile(ds, .5)), ms(quantile(ds, .95)), ms(quantile(ds, .99)), ms(quantile(ds, 1)), slow)
	for _, g := range dupGaps {
		fmt.Println("  twice:", g)
	}
	fmt.Printf("result scenario=latency n=%d nodes=%d rate=%g answered=%d in_flight=%d redirected=%d delivered=%d missing=%d twice=%d twice_same_id=%d twice_other_id=%d unanswered_delivered=%d p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f over_10s=%d last_s=%.3f timed_out=%v s500=%d s503=%d\n",
		o.n, len(o.urls), o.rate, len(answered), inFlight, redirected, len(ds), missing, twice, sameID, otherID, unanswered,
		q(.5), q(.95), q(.99), q(1), slow, lastExpected.Seconds(), timedOut, statuses[500], statuses[503])
	return nil
}

// refused says whether err is a connection that could not be made: the
// request was never sent.
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// parseURLs reads -urls: comma-separated base URLs, each on loopback.
func parseURLs(s string) ([]*url.URL, error) {
	var us []*url.URL
	for _, part := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("-urls: bad URL %q", part)
		}
		if err := loopbackOnly(u.Hostname()); err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, nil
}
