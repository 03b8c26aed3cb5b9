package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/airlockhq/airlock"
)

// serverIDRE is a server's id in the directory.
var serverIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// parseServers reads "id=Name=https://url,…" or a path to a JSON file
// holding [{"id","name","url"[,"issuer"]}] or {"servers":[…]}. The
// directory is shown to every app user and each URL receives their
// password, so every entry is checked by allowlist; messages never quote a
// URL (it may hold a password). A server's issuer (where an app finds its
// OpenID Provider, and the iss it must see) is its URL's unless the file
// gives one.
func parseServers(v string) ([]server, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return []server{}, nil
	}
	var list []server
	if !strings.Contains(v, "=") {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("read server directory: %w", err)
		}
		if list, err = decodeServersFile(b); err != nil {
			return nil, fmt.Errorf("server directory %s: %w", v, err)
		}
	} else {
		for i, entry := range strings.Split(v, ",") {
			parts := strings.SplitN(strings.TrimSpace(entry), "=", 3)
			if len(parts) != 3 {
				return nil, fmt.Errorf("entry %d: want id=Name=https://url", i+1)
			}
			list = append(list, server{ID: parts[0], Name: parts[1], URL: parts[2]})
		}
	}
	seen := map[string]bool{}
	for i, s := range list {
		if !serverIDRE.MatchString(s.ID) {
			return nil, fmt.Errorf("entry %d: the id must match %s", i+1, serverIDRE)
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("entry %d: id %q appears twice", i+1, s.ID)
		}
		seen[s.ID] = true
		if err := checkServerName(s.Name); err != nil {
			return nil, fmt.Errorf("entry %d (%s): %w", i+1, s.ID, err)
		}
		if err := checkWebURL(s.URL, false); err != nil {
			return nil, fmt.Errorf("entry %d (%s): url: %w", i+1, s.ID, err)
		}
		if s.Issuer == "" {
			list[i].Issuer = airlock.DefaultIssuer(s.URL)
			continue
		}
		if err := checkWebURL(s.Issuer, false); err != nil {
			return nil, fmt.Errorf("entry %d (%s): issuer: %w", i+1, s.ID, err)
		}
		if strings.HasSuffix(s.Issuer, "/") {
			// Apps compare iss exactly, and an Airlock issuer (its
			// AIRLOCK_PUBLIC_URL) never ends with a slash.
			return nil, fmt.Errorf("entry %d (%s): issuer: no trailing slash (an issuer is compared exactly)", i+1, s.ID)
		}
	}
	return list, nil
}

// checkServerName accepts 1 to 100 characters of valid UTF-8 that show as
// they are: no control, bidi control or line separator character, which
// could disguise one server as another in the app's list.
func checkServerName(name string) error {
	if !utf8.ValidString(name) {
		return errors.New("the name is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > 100 {
		return errors.New("the name must have 1 to 100 characters")
	}
	for _, r := range name {
		if airlock.UnsafeRune(r) {
			return fmt.Errorf("the name holds the character %U (control, bidi control or line separator)", r)
		}
	}
	return nil
}

// decodeServersFile reads the JSON file strictly. encoding/json would take
// "ID" or "Name" for "id" or "name" (it folds case), let a repeated key win,
// turn null into "" and ignore text after the value; here keys are exactly
// id, name, url and (optional) issuer, each once, with string values, and
// nothing follows.
func decodeServersFile(b []byte) ([]server, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("want a JSON list of servers or {\"servers\":[…]}: %w", err)
	}
	var list []server
	switch tok {
	case json.Delim('['):
		if list, err = decodeServerList(dec); err != nil {
			return nil, err
		}
	case json.Delim('{'):
		if key, err := dec.Token(); err != nil || key != "servers" {
			return nil, errors.New(`the object's only key is "servers"`)
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, errors.New(`"servers" must be a list`)
		}
		if list, err = decodeServerList(dec); err != nil {
			return nil, err
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
			return nil, errors.New(`the object's only key is "servers"`)
		}
	default:
		return nil, errors.New(`want a JSON list of servers or {"servers":[…]}`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected text after the JSON value")
	}
	return list, nil
}

// decodeServerList reads the servers of a list whose "[" was read, and its "]".
func decodeServerList(dec *json.Decoder) ([]server, error) {
	list := []server{}
	for n := 1; dec.More(); n++ {
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return nil, fmt.Errorf("entry %d: want an object {\"id\",\"name\",\"url\"[,\"issuer\"]}", n)
		}
		var s server
		fields := map[string]*string{"id": &s.ID, "name": &s.Name, "url": &s.URL, "issuer": &s.Issuer}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("entry %d: %w", n, err)
			}
			key, _ := tok.(string)
			dst, ok := fields[key]
			if !ok {
				return nil, fmt.Errorf("entry %d: unknown key %q (the keys are exactly id, name, url and, optionally, issuer)", n, key)
			}
			if seen[key] {
				return nil, fmt.Errorf("entry %d: key %q appears twice", n, key)
			}
			seen[key] = true
			tok, err = dec.Token()
			if err != nil {
				return nil, fmt.Errorf("entry %d: %w", n, err)
			}
			if *dst, ok = tok.(string); !ok {
				return nil, fmt.Errorf("entry %d: %q must be a string", n, key)
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("entry %d: %w", n, err)
		}
		if !seen["id"] || !seen["name"] || !seen["url"] {
			return nil, fmt.Errorf("entry %d: id, name and url are required", n)
		}
		if seen["issuer"] && s.Issuer == "" {
			return nil, fmt.Errorf("entry %d: the issuer is empty (leave the key out for the url's)", n)
		}
		list = append(list, s)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return nil, errors.New("the list of servers is not closed")
	}
	return list, nil
}
