package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// flood is issue 23's scenario: o.c clients post forgot requests for o.duration
// as fast as answers come, round-robin over o.urls, each request from an
// address of its own (X-Forwarded-For 10.x.y.z: the server must trust the
// loopback proxy), nine in ten for unknown addresses (nobody-N), one in ten
// for one of o.accounts existing accounts (-format). Meanwhile, o.personRate
// times a second, a person (an account of -person-format the flood never
// names, a new one each time, from an address of their own, 172.16.x.y) asks
// for a link; they go on until o.after past the flood's end plus 5 s. Each
// person's latency is from their answer to their email's arrival at the
// SMTP sink on o.smtp; the run then waits up to o.emailWait for the emails
// still missing.
//
// With -pids (the server processes), it also measures the backlog (the time
// from the flood's end until the servers, with -postgres-db their database's
// PostgreSQL backends too, use less than 5% of a core for 2 s on end) and
// the CPU seconds per accepted request from the flood's start until then
// (theirs; the whole machine's busy time is given too, but on a shared
// machine it holds what others run).
//
// With -queue-db (the servers' database), it samples their queue of jobs
// every second: how many forgot requests and emails wait, and since when.
//
// With -person-rate 0 it is the flood alone (the bare handler's yardstick).
func flood(o options) error {
	if o.duration == 0 {
		o.duration = 20 * time.Second
	}
	var sk *sink
	if o.personRate > 0 {
		var stop func()
		var err error
		if sk, stop, err = startSink(o.smtp, math.MaxInt, o.relayDelay); err != nil {
			return err
		}
		defer stop()
	}
	deadline := time.Now().Add(o.maxTime)
	var queue *queueSampler
	if o.queueDB != "" {
		var err error
		if queue, err = startQueueSampler(o.queueDB); err != nil {
			return err
		}
	}
	cpu0 := o.cpuNow(nil)

	start := time.Now()
	floodOver := make(chan struct{})
	var floodEnd time.Time // set before floodOver is closed
	var persons *personRun
	if sk != nil {
		persons = &personRun{o: o, finished: make(chan struct{})}
		go persons.run(floodOver, &floodEnd)
	}
	fl := runFlood(o, start.Add(o.duration))
	floodEnd = time.Now()
	close(floodOver)

	var idle idleResult
	if len(o.pids) > 0 {
		idle = o.waitIdle(cpu0.pg, floodEnd, earlier(deadline, floodEnd.Add(o.idleMax)))
	}
	cpu1 := o.cpuNow(cpu0.pg)

	var ps personReport
	if persons != nil {
		<-persons.finished
		persons.wg.Wait()
		delivered := sk.waitFor(persons.answeredAt(), earlier(deadline, time.Now().Add(o.emailWait)))
		ps = persons.report(sk, floodEnd, !delivered)
	}

	elapsed := floodEnd.Sub(start)
	answered := 0
	for _, n := range fl.statuses {
		answered += n
	}
	rps := float64(answered) / elapsed.Seconds()
	slices.Sort(fl.ds)
	fmt.Printf("flood: %d clients over %d node(s) for %.1fs: %d answered (%.0f/s), statuses %v, connection errors %d; answer p50=%s p99=%s max=%s\n",
		o.c, len(o.urls), elapsed.Seconds(), answered, rps, fl.statuses, fl.failed,
		ms(quantile(fl.ds, .5)), ms(quantile(fl.ds, .99)), ms(quantile(fl.ds, 1)))
	var each []string
	for k := range fl.accepted {
		each = append(each, fmt.Sprintf("%ds:%d/%d", k, fl.accepted[k], fl.refused[k]))
	}
	fmt.Printf("  answered each second from the flood's start, accepted/refused: %s\n", strings.Join(each, " "))
	other := answered - fl.statuses[202] - fl.statuses[429] - fl.statuses[503]
	result := fmt.Sprintf("result scenario=flood clients=%d nodes=%d seconds=%.3f answered=%d rps=%.1f s202=%d s429=%d s503=%d other=%d failed=%d p50_ms=%.3f p99_ms=%.3f",
		o.c, len(o.urls), elapsed.Seconds(), answered, rps, fl.statuses[202], fl.statuses[429], fl.statuses[503], other, fl.failed,
		float64(quantile(fl.ds, .5))/1e6, float64(quantile(fl.ds, .99))/1e6)
	if persons != nil {
		fmt.Print(ps.text)
		result += ps.fields
		if last, n, to := others(sk, o.personFormat); n > 0 {
			fmt.Printf("  the flood's emails: %d to %d accounts, the last %.1fs from the flood's end (negative: before it)\n", n, to, last.Sub(floodEnd).Seconds())
			result += fmt.Sprintf(" flood_emails=%d flood_email_accounts=%d flood_last_email_s=%.1f", n, to, last.Sub(floodEnd).Seconds())
		}
	}
	if queue != nil {
		text, fields := queue.finish(start, floodEnd)
		fmt.Print(text)
		result += fields
	}
	if len(o.pids) > 0 {
		accepted := fl.statuses[202] + ps.accepted
		d := cpu1.minus(cpu0)
		server := d.servers + d.postgres
		fmt.Printf("  backlog: the servers idle %.1fs after the flood's end%s\n", idle.after.Seconds(), map[bool]string{true: " (gave up waiting)"}[!idle.ok])
		fmt.Printf("  CPU from the flood's start until idle (%.1fs): servers %.1fs, postgres %.1fs, the whole machine %.1fs busy (of which this load generator %.1fs); %d accepted: %.0f µs per accepted request (servers + postgres), %.0f µs (machine less the load generator)\n",
			cpu1.at.Sub(cpu0.at).Seconds(), d.servers, d.postgres, d.machine, d.self, accepted,
			1e6*server/float64(max(accepted, 1)), 1e6*(d.machine-d.self)/float64(max(accepted, 1)))
		result += fmt.Sprintf(" idle_after_s=%.1f idle_ok=%v cpu_window_s=%.1f server_cpu_s=%.2f postgres_cpu_s=%.2f machine_cpu_s=%.2f loadgen_cpu_s=%.2f accepted=%d us_per_accepted=%.0f us_per_accepted_machine=%.0f",
			idle.after.Seconds(), idle.ok, cpu1.at.Sub(cpu0.at).Seconds(), d.servers, d.postgres, d.machine, d.self, accepted,
			1e6*server/float64(max(accepted, 1)), 1e6*(d.machine-d.self)/float64(max(accepted, 1)))
	}
	fmt.Println(result)
	return nil
}

// floodStats is what the flood's clients saw.
type floodStats struct {
	statuses map[int]int
	failed   int
	ds       []time.Duration
	// each second from the flood's start: the answers accepted (202) and
	// refused (others), to tell a start's queue of emails from the rest
	accepted, refused []int
}

// runFlood runs o.c closed-loop clients until stop.
func runFlood(o options, stop time.Time) floodStats {
	var next atomic.Int64
	var mu sync.Mutex
	fl := floodStats{statuses: map[int]int{}}
	start := time.Now()
	seconds := int(stop.Sub(start)/time.Second) + 1
	accepted, refused := make([]atomic.Int64, seconds), make([]atomic.Int64, seconds)
	var wg sync.WaitGroup
	for range o.c {
		wg.Go(func() {
			clients := clientsFor(o.urls)
			defer closeAll(clients)
			statuses := map[int]int{}
			failed := 0
			ds := make([]time.Duration, 0, 4096)
			for time.Now().Before(stop) {
				i := int(next.Add(1))
				k := i % len(o.urls)
				// Every request from an address of its own (16 million
				// before one comes again), nine in ten for no account.
				email := fmt.Sprintf("nobody-%d@example.com", i)
				if i%10 == 0 {
					email = fmt.Sprintf(o.format, (i/10)%max(o.accounts, 1))
				}
				ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
				t0 := time.Now()
				a, err := clients[k].do(forgotFrom(o.urls[k].Host, email, ip), t0.Add(30*time.Second))
				if err != nil {
					failed++
					time.Sleep(10 * time.Millisecond)
					continue
				}
				ds = append(ds, time.Since(t0))
				statuses[a.status]++
				if k := min(int(time.Since(start)/time.Second), seconds-1); a.status == 202 {
					accepted[k].Add(1)
				} else {
					refused[k].Add(1)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for st, n := range statuses {
				fl.statuses[st] += n
			}
			fl.failed += failed
			fl.ds = append(fl.ds, ds...)
		})
	}
	wg.Wait()
	for k := range seconds {
		fl.accepted = append(fl.accepted, int(accepted[k].Load()))
		fl.refused = append(fl.refused, int(refused[k].Load()))
	}
	return fl
}

// personRun is the people asking for a link during and after the flood.
type personRun struct {
	o        options
	finished chan struct{} // closed when the last person has asked
	wg       sync.WaitGroup
	mu       sync.Mutex
	// by account, in the order asked
	asks []*personAsk
}

// personAsk is one person's request.
type personAsk struct {
	email  string
	sent   time.Time
	answer time.Time // zero: no answer
	status int
	err    error
}

// run asks for a link o.personRate times a second, each request on a
// connection of its own, until o.after past 5 s after the flood's end.
func (p *personRun) run(floodOver <-chan struct{}, floodEnd *time.Time) {
	defer close(p.finished)
	t := time.NewTicker(time.Duration(float64(time.Second) / p.o.personRate))
	defer t.Stop()
	var until time.Time
	for k := 0; ; k++ {
		select {
		case <-floodOver:
			if until.IsZero() {
				until = floodEnd.Add(5*time.Second + p.o.after)
			}
		default:
		}
		if !until.IsZero() && time.Now().After(until) {
			return
		}
		ask := &personAsk{email: strings.ToLower(fmt.Sprintf(p.o.personFormat, k%p.o.persons)), sent: time.Now()}
		p.mu.Lock()
		p.asks = append(p.asks, ask)
		p.mu.Unlock()
		u := p.o.urls[k%len(p.o.urls)]
		ip := fmt.Sprintf("172.16.%d.%d", k>>8&255, k&255)
		p.wg.Go(func() {
			cl := &rawClient{addr: u.Host}
			defer cl.close()
			a, err := cl.do(forgotFrom(u.Host, ask.email, ip), time.Now().Add(60*time.Second))
			p.mu.Lock()
			defer p.mu.Unlock()
			ask.err, ask.status = err, a.status
			if err == nil {
				ask.answer = time.Now()
			}
		})
		<-t.C
	}
}

// answeredAt is when each accepted person got their answer.
func (p *personRun) answeredAt() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]time.Time{}
	for _, a := range p.asks {
		if a.status == 202 {
			m[a.email] = a.answer
		}
	}
	return m
}

// personReport is the people's outcome, as text and as result fields.
type personReport struct {
	text, fields string
	accepted     int
}

// report splits the people by when they asked: during the flood, in the
// first 5 s after it, and from 5 s after it.
func (p *personRun) report(sk *sink, floodEnd time.Time, gaveUp bool) personReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	sk.mu.Lock()
	defer sk.mu.Unlock()
	var r personReport
	if len(p.asks) > p.o.persons {
		r.text += fmt.Sprintf("  warning: %d requests for %d person accounts: some asked more than once (the per-account limit may refuse them)\n", len(p.asks), p.o.persons)
	}
	phases := []struct {
		name, key string
		in        func(time.Time) bool
	}{
		{"during the flood", "during", func(t time.Time) bool { return t.Before(floodEnd) }},
		{"0-5 s after it", "gap", func(t time.Time) bool { return !t.Before(floodEnd) && t.Before(floodEnd.Add(5*time.Second)) }},
		{"from 5 s after it", "after", func(t time.Time) bool { return !t.Before(floodEnd.Add(5 * time.Second)) }},
	}
	for _, ph := range phases {
		var ds, answers []time.Duration
		statuses := map[int]int{}
		asked, failed, missing := 0, 0, 0
		for _, a := range p.asks {
			if !ph.in(a.sent) {
				continue
			}
			asked++
			if a.err != nil {
				failed++
				continue
			}
			statuses[a.status]++
			answers = append(answers, a.answer.Sub(a.sent))
			if a.status != 202 {
				continue
			}
			r.accepted++
			got := sk.got[a.email]
			if len(got) == 0 {
				missing++
				continue
			}
			ds = append(ds, got[0].at.Sub(a.answer))
		}
		slices.Sort(ds)
		slices.Sort(answers)
		r.text += fmt.Sprintf("  person, asked %s: %d asked, statuses %v, %d errors; answer p50=%s max=%s; answer → at the sink: p50=%s p95=%s max=%s, %d missing%s\n",
			ph.name, asked, statuses, failed, ms(quantile(answers, .5)), ms(quantile(answers, 1)),
			ms(quantile(ds, .5)), ms(quantile(ds, .95)), ms(quantile(ds, 1)), missing, map[bool]string{true: " (gave up waiting)"}[gaveUp && missing > 0])
		r.fields += fmt.Sprintf(" %s_n=%d %s_non202=%d %s_errors=%d %s_answer_p50_ms=%.1f %s_p50_ms=%.1f %s_p95_ms=%.1f %s_max_ms=%.1f %s_missing=%d",
			ph.key, asked, ph.key, asked-failed-statuses[202], ph.key, failed, ph.key, float64(quantile(answers, .5))/1e6,
			ph.key, float64(quantile(ds, .5))/1e6, ph.key, float64(quantile(ds, .95))/1e6, ph.key, float64(quantile(ds, 1))/1e6, ph.key, missing)
	}
	// Each person's wait, by when they asked (from the first request).
	var each []string
	for _, a := range p.asks {
		if got := sk.got[a.email]; a.status == 202 && len(got) > 0 && a.sent.Before(floodEnd.Add(5*time.Second)) {
			each = append(each, fmt.Sprintf("%.1fs:%.2fs", a.sent.Sub(p.asks[0].sent).Seconds(), got[0].at.Sub(a.answer).Seconds()))
		}
	}
	r.text += "  each person's wait, by when they asked (until 5 s after the flood): " + strings.Join(each, " ") + "\n"
	return r
}

// others counts the messages for recipients not of personFormat (the
// flood's) and the recipients, and says when the last arrived.
func others(sk *sink, personFormat string) (last time.Time, n, to int) {
	prefix, _, _ := strings.Cut(strings.ToLower(personFormat), "%")
	sk.mu.Lock()
	defer sk.mu.Unlock()
	for rcpt, got := range sk.got {
		if strings.HasPrefix(rcpt, prefix) {
			continue
		}
		to++
		n += len(got)
		for _, d := range got {
			if d.at.After(last) {
				last = d.at
			}
		}
	}
	return last, n, to
}

// idleResult is when the servers were idle again.
type idleResult struct {
	after time.Duration // from the flood's end
	ok    bool          // false: still busy at the deadline
}

// waitIdle waits until the servers and their database's backends use
// less than 5% of a core together, for 2 s on end (4 samples half a second
// apart), and says when that began, from the flood's end. (compare.sh's
// wait_idle also asks the whole machine to be quiet; here others' tests on
// the shared machine would keep it from ever being so.)
func (o options) waitIdle(pg map[int]float64, floodEnd, deadline time.Time) idleResult {
	const every = 500 * time.Millisecond
	prev := o.cpuNow(pg)
	streak := 0
	var quietSince time.Time
	for {
		t0 := time.Now()
		time.Sleep(every)
		now := o.cpuNow(prev.pg)
		if d := now.minus(prev); d.servers+d.postgres <= 0.05*every.Seconds() {
			if streak == 0 {
				quietSince = t0
			}
			streak++
		} else {
			streak = 0
		}
		prev = now
		if streak >= 4 {
			return idleResult{after: max(0, quietSince.Sub(floodEnd)), ok: true}
		}
		if time.Now().After(deadline) {
			return idleResult{after: time.Since(floodEnd), ok: false}
		}
	}
}

// earlier is the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
