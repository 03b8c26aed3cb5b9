package metrics

import (
	"bytes"
	"compress/gzip"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// ContentType is the media type of the text exposition format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves r's metrics to a Prometheus scraper, gzipped when it
// accepts gzip. A collector that fails is left out of the scrape and its
// error logged (once per scrape); the rest is served with a 200, as a
// partial scrape is worth more than none.
func (r *Registry) Handler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var buf bytes.Buffer
		if err := r.Gather(&buf); err != nil {
			log.Error("some metrics left out of the scrape", "err", err)
		}
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Add("Vary", "Accept-Encoding")
		if !acceptsGzip(req.Header.Get("Accept-Encoding")) {
			h.Set("Content-Length", strconv.Itoa(buf.Len()))
			w.Write(buf.Bytes())
			return
		}
		h.Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(buf.Bytes())
		zw.Close()
	})
}

// acceptsGzip tells whether an Accept-Encoding header accepts gzip: listed,
// without q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}
