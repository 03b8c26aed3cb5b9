package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// emails measures email throughput end to end: it starts an SMTP sink on
// o.smtp (the Airlock under test has AIRLOCK_SMTP_URL pointing at it), asks
// for a reset of each of o.n accounts (-format with 0..n-1) through the
// API, and waits until every account got its email, or 60 s. It also
// checks that nobody got two.
func emails(o options) error {
	sink, stop, err := startSink(o.smtp, o.n, o.relayDelay)
	if err != nil {
		return err
	}
	defer stop()

	reqHost := o.target.Host
	var next atomic.Int64
	var failed atomic.Int64
	statuses := sync.Map{}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < o.c; w++ {
		wg.Go(func() {
			cl := &rawClient{addr: reqHost}
			defer cl.close()
			for {
				i := int(next.Add(1)) - 1
				if i >= o.n {
					return
				}
				req := forgotFrom(reqHost, fmt.Sprintf(o.format, i), "")
				a, err := cl.do(req, time.Now().Add(30*time.Second))
				if err != nil {
					failed.Add(1)
					continue
				}
				v, _ := statuses.LoadOrStore(a.status, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
			}
		})
	}
	wg.Wait()
	answered := time.Since(start)
	timedOut := false
	select {
	case <-sink.all:
	case <-time.After(60 * time.Second):
		timedOut = true
	}
	el := time.Since(start)
	twice := sink.twice()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	st := map[int]int64{}
	statuses.Range(func(k, v any) bool { st[k.(int)] = v.(*atomic.Int64).Load(); return true })
	fmt.Printf("emails: %d reset requests answered in %.2fs (statuses %v, connection errors %d); %d of %d accounts got their email after %.2fs%s; %d got more than one; %d SMTP connections\n",
		o.n, answered.Seconds(), st, failed.Load(), len(sink.got), o.n, el.Seconds(),
		map[bool]string{true: " (gave up waiting)", false: ""}[timedOut], twice, sink.conns)
	fmt.Printf("result scenario=emails n=%d delivered=%d seconds=%.3f answered_s=%.3f twice=%d smtp_connections=%d timed_out=%v\n",
		o.n, len(sink.got), el.Seconds(), answered.Seconds(), twice, sink.conns, timedOut)
	return nil
}
