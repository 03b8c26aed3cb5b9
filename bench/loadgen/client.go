package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// rawClient speaks just enough HTTP/1.1 over one kept-alive connection to
// send a prepared request and read the answer. It costs far less CPU than
// net/http's client, so that on a small machine the load generator leaves
// the cores to the server it measures (the same client drives the bare
// handler and Airlock, so the ratio stays fair).
type rawClient struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
}

// answer is what the client kept of a response.
type answer struct {
	status     int
	retryAfter string
}

func (cl *rawClient) connect() error {
	c, err := net.DialTimeout("tcp", cl.addr, 10*time.Second)
	if err != nil {
		return err
	}
	cl.c = c
	if cl.r == nil {
		cl.r = bufio.NewReaderSize(c, 16<<10)
	} else {
		cl.r.Reset(c)
	}
	return nil
}

func (cl *rawClient) close() {
	if cl.c != nil {
		cl.c.Close()
		cl.c = nil
	}
}

// clientsFor returns a client for each of urls, not yet connected.
func clientsFor(urls []*url.URL) []*rawClient {
	clients := make([]*rawClient, len(urls))
	for k, u := range urls {
		clients[k] = &rawClient{addr: u.Host}
	}
	return clients
}

func closeAll(clients []*rawClient) {
	for _, cl := range clients {
		cl.close()
	}
}

// request builds a POST with a body.
func request(host, path, ctype string, body []byte) []byte {
	return requestWith(host, path, ctype, body, "")
}

// requestWith builds a POST with a body and extra header lines (each
// ending in "\r\n").
func requestWith(host, path, ctype string, body []byte, extra string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: airlock-loadgen\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n",
		path, host, ctype, len(body), extra)
	b.Write(body)
	return b.Bytes()
}

// forgotFrom is the API's forgot request for email, coming through a
// proxy from the client address ip (X-Forwarded-For), or directly when ip
// is empty.
func forgotFrom(host, email, ip string) []byte {
	extra := ""
	if ip != "" {
		extra = "X-Forwarded-For: " + ip + "\r\n"
	}
	return requestWith(host, "/api/v1/password/forgot", "application/json", jsonBody(map[string]string{"email": email}), extra)
}

// do sends req and reads the answer; on a broken connection it reconnects
// once (a server may close an idle keep-alive connection at any time).
func (cl *rawClient) do(req []byte, deadline time.Time) (answer, error) {
	for attempt := 0; ; attempt++ {
		fresh := false
		if cl.c == nil {
			if err := cl.connect(); err != nil {
				return answer{}, err
			}
			fresh = true
		}
		cl.c.SetDeadline(deadline)
		a, closeAfter, err := cl.roundTrip(req)
		if err == nil {
			if closeAfter {
				cl.close()
			}
			return a, nil
		}
		cl.close()
		if fresh || attempt > 0 {
			return answer{}, err
		}
	}
}

func (cl *rawClient) roundTrip(req []byte) (a answer, closeAfter bool, err error) {
	if _, err := cl.c.Write(req); err != nil {
		return a, false, err
	}
	line, err := cl.r.ReadSlice('\n')
	if err != nil {
		return a, false, err
	}
	// "HTTP/1.1 202 Accepted\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return a, false, fmt.Errorf("bad status line %q", line)
	}
	a.status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return a, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		line, err := cl.r.ReadSlice('\n')
		if err != nil {
			return a, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, err = strconv.Atoi(string(v))
			if err != nil {
				return a, false, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			closeAfter = bytes.EqualFold(v, []byte("close"))
		case bytes.EqualFold(k, []byte("Retry-After")):
			a.retryAfter = string(v)
		}
	}
	switch {
	case chunked:
		for {
			line, err := cl.r.ReadSlice('\n')
			if err != nil {
				return a, false, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
			if err != nil {
				return a, false, fmt.Errorf("bad chunk size %q", line)
			}
			if _, err := cl.r.Discard(int(n) + 2); err != nil {
				return a, false, err
			}
			if n == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := cl.r.Discard(length); err != nil {
			return a, false, err
		}
	default:
		// No length: the body ends with the connection.
		io.Copy(io.Discard, cl.r)
		closeAfter = true
	}
	return a, closeAfter, nil
}
