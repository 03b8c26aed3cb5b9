package edge_test

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/edge"
)

// TestReadUploadStreams: the file reaches its reader as it arrives, while
// the rest of the request is still on its way, so an upload is never held
// whole; a field after the file is still read and checked.
func TestReadUploadStreams(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	r := httptest.NewRequest("POST", "/", pr)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	firstLine := make(chan struct{})
	go func() {
		part, _ := mw.CreateFormFile("file", "users.csv")
		io.WriteString(part, "email\nsam@example.com\n")
		// The rest is sent only once the reader has seen the first lines:
		// a reader that waited for the whole file would wait forever.
		select {
		case <-firstLine:
		case <-time.After(10 * time.Second):
			pw.CloseWithError(errors.New("the file was not read as it arrived"))
			return
		}
		io.WriteString(part, "kim@example.com\n")
		mw.WriteField("invite", "on")
		pw.CloseWithError(mw.Close())
	}()
	var got strings.Builder
	seen := false
	vals, err := edge.ReadUpload(httptest.NewRecorder(), r, "file", func(body io.Reader) error {
		buf := make([]byte, 64)
		for {
			n, err := body.Read(buf)
			got.Write(buf[:n])
			if !seen && strings.Count(got.String(), "\n") == 2 {
				seen = true
				close(firstLine)
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}, "invite")
	if err != nil || vals.Get("invite") != "on" || got.String() != "email\nsam@example.com\nkim@example.com\n" {
		t.Fatalf("upload: %v %v %q", vals, err, got.String())
	}
}

// TestReadUploadLimits: a file over MaxUploadBytes is a 413 whatever its
// reader made of the failed read, or if it stopped reading early; a file
// of exactly the limit is read whole; the reader's own error comes back as
// it is.
func TestReadUploadLimits(t *testing.T) {
	t.Parallel()
	upload := func(size int, read func(io.Reader) error) error {
		var b strings.Builder
		mw := multipart.NewWriter(&b)
		part, _ := mw.CreateFormFile("file", "users.csv")
		io.WriteString(part, strings.Repeat("a", size))
		mw.Close()
		r := httptest.NewRequest("POST", "/", strings.NewReader(b.String()))
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.ContentLength = -1 // as a chunked upload: only reading finds the size
		_, err := edge.ReadUpload(httptest.NewRecorder(), r, "file", read)
		return err
	}
	var n int64
	count := func(body io.Reader) (err error) {
		n, err = io.Copy(io.Discard, body)
		return err
	}
	if err := upload(edge.MaxUploadBytes, count); err != nil || n != edge.MaxUploadBytes {
		t.Fatalf("a file of the limit: %d bytes read, %v", n, err)
	}
	if err := upload(edge.MaxUploadBytes+1, count); codeOf(err) != airlock.CodeTooLarge {
		t.Fatalf("one byte more: %v", err)
	}
	// A reader that turns the failure into an error of its own.
	parse := func(body io.Reader) error {
		if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("line 9: %v", err)
		}
		return nil
	}
	if err := upload(edge.MaxUploadBytes+1, parse); codeOf(err) != airlock.CodeTooLarge {
		t.Fatalf("one byte more, through a parser: %v", err)
	}
	// A reader that stops early (at a bad line): the rest still counts.
	if err := upload(edge.MaxUploadBytes+1, func(io.Reader) error { return nil }); codeOf(err) != airlock.CodeTooLarge {
		t.Fatalf("one byte more, not read: %v", err)
	}
	mine := errors.New("the reader's own")
	if err := upload(10, func(io.Reader) error { return mine }); err != mine {
		t.Fatalf("the reader's error: %v", err)
	}
}

func codeOf(err error) airlock.Code {
	if e := airlock.AsError(err); e != nil {
		return e.Code
	}
	return ""
}
