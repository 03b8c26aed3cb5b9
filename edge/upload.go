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
// part named file (at most MaxUploadBytes), and only the named text fields,
// each once, each valid UTF-8 without NUL. Anything else is a 400 (413 past
// the size), before any of it is used.
func ReadUpload(w http.ResponseWriter, r *http.Request, file string, fields ...string) ([]byte, url.Values, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, invalid("error.upload.type", "Send the file as multipart/form-data.")
	}
	if r.ContentLength > MaxUploadBytes+64<<10 {
		return nil, nil, &airlock.Error{Code: airlock.CodeTooLarge, Key: "error.upload.too_large", Message: "The file is too large (at most 16 MiB)."}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, invalid("error.upload.malformed", "The upload is malformed.")
	}
	allowed := map[string]bool{}
	for _, f := range fields {
		allowed[f] = true
	}
	vals := url.Values{}
	var data []byte
	seenFile := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, uploadError(err)
		}
		name := part.FormName()
		switch {
		case name == file && !seenFile:
			seenFile = true
			data, err = io.ReadAll(io.LimitReader(part, MaxUploadBytes+1))
			if err != nil {
				return nil, nil, uploadError(err)
			}
			if len(data) > MaxUploadBytes {
				return nil, nil, &airlock.Error{Code: airlock.CodeTooLarge, Key: "error.upload.too_large", Message: "The file is too large (at most 16 MiB)."}
			}
		case allowed[name] && !vals.Has(name):
			v, err := io.ReadAll(io.LimitReader(part, 4<<10))
			if err != nil {
				return nil, nil, uploadError(err)
			}
			if bad := badText(string(v)); bad != "" {
				return nil, nil, invalidText(name, "error.form.bad_value", "The field %q holds %s.", name, bad)
			}
			vals.Set(name, string(v))
		default:
			part.Close()
			if bad := badText(name); bad != "" {
				return nil, nil, invalidText("", "error.form.bad_name", "A field name of the form holds %s.", bad)
			}
			return nil, nil, invalidField(name, "error.upload.unexpected", "Unexpected or repeated field %q.", name)
		}
		part.Close()
	}
	if !seenFile {
		return nil, nil, invalidField(file, "error.upload.no_file", "Choose a file to upload.")
	}
	return data, vals, nil
}

func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &airlock.Error{Code: airlock.CodeTooLarge, Key: "error.upload.too_large", Message: "The file is too large (at most 16 MiB)."}
	}
	return invalid("error.upload.unreadable", "The upload could not be read.")
}
