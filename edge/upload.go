package edge

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/airlockhq/airlock"
)

// MaxUploadBytes bounds a file upload (a users CSV file of 100,000 rows is
// well under it).
const MaxUploadBytes = 16 << 20

// ReadUpload reads a multipart/form-data form strictly: one file in the
// part named file, and only the named text fields, each once, each valid
// UTF-8 without NUL. Anything else is a 400 (413 past the size).
//
// The file is never held whole: readFile reads it as it arrives, from a
// reader that fails past MaxUploadBytes (ReadUpload then answers 413, or
// 400 if the upload broke off, whatever readFile returned). Since a field
// may come after the file and still refuse the form, readFile must only
// read and check, never act: the caller acts on what it kept once
// ReadUpload has returned without error. An error of readFile's own is
// returned as it is.
func ReadUpload(w http.ResponseWriter, r *http.Request, file string, readFile func(io.Reader) error, fields ...string) (url.Values, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return nil, invalid("error.upload.type")
	}
	if r.ContentLength > MaxUploadBytes+64<<10 {
		return nil, errUploadTooLarge()
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, invalid("error.upload.malformed")
	}
	allowed := map[string]bool{}
	for _, f := range fields {
		allowed[f] = true
	}
	vals := url.Values{}
	seenFile := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, uploadError(err)
		}
		name := part.FormName()
		switch {
		case name == file && !seenFile:
			seenFile = true
			body := &uploadReader{r: part, left: MaxUploadBytes}
			err := readFile(body)
			// What readFile left (it may stop at a bad line) still counts:
			// a file over the limit is refused as such, whatever it holds.
			io.Copy(io.Discard, body)
			if body.err != nil {
				// The reader's failure explains readFile's, if any.
				return nil, uploadError(body.err)
			}
			if err != nil {
				return nil, err
			}
		case allowed[name] && !vals.Has(name):
			v, err := io.ReadAll(io.LimitReader(part, 4<<10))
			if err != nil {
				return nil, uploadError(err)
			}
			if bad := badText(string(v)); bad != "" {
				return nil, invalidText(name, "error.form.bad_value")
			}
			vals.Set(name, string(v))
		default:
			part.Close()
			if bad := badText(name); bad != "" {
				return nil, invalidText("", "error.form.bad_name")
			}
			return nil, invalidField(name, "error.upload.unexpected", name)
		}
		part.Close()
	}
	if !seenFile {
		return nil, invalidField(file, "error.upload.no_file")
	}
	return vals, nil
}

// uploadReader reads an uploaded file, failing once more than left bytes
// come. It keeps its first failure, so that a reader's error can be told
// from readFile's own.
type uploadReader struct {
	r    io.Reader
	left int64
	err  error
}

var errFileTooLarge = errors.New("the file is too large")

func (u *uploadReader) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	// One byte more than is left tells a file of exactly the limit from a
	// larger one.
	if int64(len(p)) > u.left+1 {
		p = p[:u.left+1]
	}
	n, err := u.r.Read(p)
	if int64(n) > u.left {
		n, err = int(u.left), errFileTooLarge
	}
	u.left -= int64(n)
	if err != nil && err != io.EOF {
		u.err = err
	}
	return n, err
}

func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, errFileTooLarge) {
		return errUploadTooLarge()
	}
	return invalid("error.upload.unreadable")
}

func errUploadTooLarge() error {
	return &airlock.Error{Code: airlock.CodeTooLarge, Key: "error.upload.too_large"}
}
