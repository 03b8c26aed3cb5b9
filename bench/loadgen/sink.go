package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is an SMTP server that accepts everything and keeps, for each
// recipient, when each of their messages arrived and its Message-ID.
type sink struct {
	mu    sync.Mutex
	got   map[string][]delivery
	conns int
	want  int           // close all once this many recipients got a message
	all   chan struct{} // closed when want recipients got one
	done  bool
	delay time.Duration // before answering a message, wait at random up to this long (a slow relay)
}

// delivery is one message the sink received.
type delivery struct {
	at time.Time // when its DATA was all in
	id string    // its Message-ID header
}

// startSink listens on addr, which must be a loopback address, until stop
// is called.
func startSink(addr string, want int, delay time.Duration) (s *sink, stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("-smtp: %w", err)
	}
	if err := loopbackOnly(host); err != nil {
		return nil, nil, err
	}
	s = &sink{got: map[string][]delivery{}, all: make(chan struct{}), want: want, delay: delay}
	srv := smtp.NewServer(s)
	srv.Domain = "sink.local"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxRecipients = 1
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	go srv.Serve(ln)
	return s, func() { srv.Close() }, nil
}

// twice counts the recipients who got more than one message.
func (s *sink) twice() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ds := range s.got {
		if len(ds) > 1 {
			n++
		}
	}
	return n
}

// waitFor waits until every recipient in answered got a message, or
// until deadline; false: it gave up.
func (s *sink) waitFor(answered map[string]time.Time, deadline time.Time) bool {
	for {
		s.mu.Lock()
		all := true
		for to := range answered {
			if len(s.got[to]) == 0 {
				all = false
				break
			}
		}
		s.mu.Unlock()
		if all {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	return &sinkSession{s: s}, nil
}

type sinkSession struct {
	s  *sink
	to string
}

func (x *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = strings.ToLower(to)
	return nil
}
func (x *sinkSession) Reset()        { x.to = "" }
func (x *sinkSession) Logout() error { return nil }

func (x *sinkSession) Data(r io.Reader) error {
	br := bufio.NewReader(r)
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return err
	}
	d := delivery{at: time.Now(), id: h.Get("Message-Id")}
	x.s.mu.Lock()
	x.s.got[x.to] = append(x.s.got[x.to], d)
	if len(x.s.got) >= x.s.want && !x.s.done {
		x.s.done = true
		close(x.s.all)
	}
	x.s.mu.Unlock()
	if x.s.delay > 0 {
		time.Sleep(rand.N(x.s.delay))
	}
	return nil
}
