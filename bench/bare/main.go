// Command bare is the yardstick of bench/compare.sh: a bare Go net/http
// server answering POST /api/v1/password/forgot with Airlock's 202 and
// nothing else (no database, no middleware). Airlock's forgot throughput is
// reported as a ratio of this one's, measured in the same run on the same
// machine, so that the figure does not depend on the machine.
//
//	go run ./bench/bare -listen 127.0.0.1:18090
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18090", "listen address (loopback only)")
	flag.Parse()
	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintln(os.Stderr, "bare: listen on a loopback address only")
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/password/forgot", func(w http.ResponseWriter, r *http.Request) {
		// Read the body, as Airlock does, and answer the same bytes.
		io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 64<<10))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "{\"status\":\"accepted\"}\n")
	})
	if err := http.ListenAndServe(*listen, mux); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}
