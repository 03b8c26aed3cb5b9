// Command importmem measures the peak memory (resident set) of a users CSV
// import of 16 MiB, through the back office of a running `airlock serve`
// and through `airlock user import`, on a fresh SQLite file. It builds the
// binary, starts it on a loopback port, uploads the file and reads the
// child's peak RSS (VmHWM from /proc for the server, getrusage's maxrss
// for the command line; for the server, also its peak once the
// administrator has signed in, before the file). Bounded: it stops by
// itself.
//
//	go run ./bench/importmem                     # every shape, server and CLI
//	go run ./bench/importmem -shape fields -mode serve
//
// Shapes (each file just under 16 MiB, the upload limit):
//
//	fields   8 million one-field lines under a two-column header: every
//	         line is refused (the most problems a file can hold)
//	invalid  100,000 well-formed rows, each refused (an unknown language)
//	valid    100,000 good rows, all created (the largest import allowed)
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// size is the size of every file: the upload limit (edge.MaxUploadBytes)
// less a little room for the header row.
const size = 16<<20 - 1<<10

const adminPassword = "bench password for the import"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "importmem:", err)
		os.Exit(1)
	}
}

func run() error {
	shapes := flag.String("shape", "fields,invalid,valid", "comma-separated shapes: fields, invalid, valid")
	modes := flag.String("mode", "serve,cli", "comma-separated: serve, cli")
	flag.Parse()

	dir, err := os.MkdirTemp("", "importmem")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "airlock")
	build := exec.Command("go", "build", "-o", bin, "./cmd/airlock")
	build.Dir, build.Stdout, build.Stderr = moduleRoot(), os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	fmt.Printf("| shape | rows | via | answer | peak RSS | of which before the file | time |\n|---|---|---|---|---|---|---|\n")
	for _, shape := range strings.Split(*shapes, ",") {
		file := filepath.Join(dir, shape+".csv")
		rows, err := writeCSV(file, shape)
		if err != nil {
			return err
		}
		for _, mode := range strings.Split(*modes, ",") {
			var r result
			switch mode {
			case "serve":
				r, err = viaServer(bin, dir, file)
			case "cli":
				r, err = viaCLI(bin, dir, file)
			default:
				err = fmt.Errorf("unknown mode %q", mode)
			}
			if err != nil {
				return fmt.Errorf("%s via %s: %w", shape, mode, err)
			}
			before := "–"
			if r.beforeMiB > 0 {
				before = fmt.Sprintf("%.0f MiB", r.beforeMiB)
			}
			fmt.Printf("| %s | %d | %s | %s | %.0f MiB | %s | %.1f s |\n", shape, rows, mode, r.answer, r.peakMiB, before, r.took.Seconds())
		}
	}
	return nil
}

type result struct {
	answer    string
	peakMiB   float64
	beforeMiB float64 // serve: the peak once signed in, before the upload
	took      time.Duration
}

// moduleRoot is the directory of the go.mod this program is run in.
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// writeCSV writes a file of the shape, just under size bytes, and returns
// its number of data rows.
func writeCSV(path, shape string) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	n, rows := 0, 0
	switch shape {
	case "fields":
		n, _ = w.WriteString("email,language\n")
		for ; n+2 <= size; n += 2 {
			w.WriteString("a\n")
			rows++
		}
	case "invalid", "valid":
		lang := "en"
		if shape == "invalid" {
			lang = "xx"
		}
		n, _ = w.WriteString("email,first_name,last_name,language,groups\n")
		// 100,000 rows (the most one file may hold) filling the file: a long
		// last name makes up the size.
		const count = 100_000
		pad := strings.Repeat("x", 90)
		for i := range count {
			line := fmt.Sprintf("field.worker%06d@example.com,Field,Worker %s,%s,mobile\n", i, pad, lang)
			if n+len(line) > size {
				break
			}
			m, _ := w.WriteString(line)
			n += m
			rows++
		}
	default:
		return 0, fmt.Errorf("unknown shape %q", shape)
	}
	return rows, w.Flush()
}

// env is the environment of every airlock process: a fresh database per
// run, on loopback.
func env(dir, addr string) []string {
	db := filepath.Join(dir, fmt.Sprintf("bench-%d.db", time.Now().UnixNano()))
	return append(os.Environ(), "AIRLOCK_DATABASE_URL=sqlite:"+db, "AIRLOCK_LISTEN="+addr,
		"AIRLOCK_PUBLIC_URL=http://"+addr, "AIRLOCK_LOG_LEVEL=warn")
}

func viaCLI(bin, dir, file string) (result, error) {
	e := env(dir, "127.0.0.1:1")
	// The database is created (and migrated) first, so that the import
	// measured does only the import.
	if err := addAdmin(bin, e); err != nil {
		return result{}, err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "user", "import", file)
	cmd.Env, cmd.Stdout, cmd.Stderr = e, io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return result{}, err
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		return result{}, errors.New("no resource usage for the child")
	}
	answer := fmt.Sprintf("exit %d", cmd.ProcessState.ExitCode())
	if last := lastLine(stderr.String()); last != "" {
		answer += ": " + last
	}
	return result{answer: answer, peakMiB: float64(ru.Maxrss) / 1024, took: took}, nil // maxrss is in KiB on Linux
}

func addAdmin(bin string, e []string) error {
	cmd := exec.Command(bin, "user", "add", "--email", "admin@example.com", "--group", "admin", "--password-stdin")
	cmd.Env, cmd.Stdin = e, strings.NewReader(adminPassword+"\n")
	// Its output (a note that it made a key file) is shown only on failure.
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("user add: %w: %s", err, out)
	}
	return nil
}

func viaServer(bin, dir, file string) (result, error) {
	addr, err := freeAddr()
	if err != nil {
		return result{}, err
	}
	e := env(dir, addr)
	if err := addAdmin(bin, e); err != nil {
		return result{}, err
	}
	srv := exec.Command(bin, "serve")
	srv.Env, srv.Stdout, srv.Stderr = e, io.Discard, os.Stderr
	if err := srv.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Minute}
	if err := waitHealthy(client, base); err != nil {
		return result{}, err
	}
	res, err := client.PostForm(base+"/login", url.Values{"email": {"admin@example.com"}, "password": {adminPassword}})
	if err != nil {
		return result{}, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if !strings.HasSuffix(res.Request.URL.Path, "/account") {
		return result{}, fmt.Errorf("sign-in ended on %s (%d)", res.Request.URL, res.StatusCode)
	}

	before := peakRSS(srv.Process.Pid)
	// The file is streamed from disk, as a browser sends it.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", filepath.Base(file))
		if err == nil {
			var f *os.File
			if f, err = os.Open(file); err == nil {
				_, err = io.Copy(part, f)
				f.Close()
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", base+"/admin/users/import", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	start := time.Now()
	res, err = client.Do(req)
	if err != nil {
		return result{}, err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(start)
	answer := strconv.Itoa(res.StatusCode)
	if m := refusedRE(body); m != "" {
		answer += ": " + m
	} else if res.Request.URL.RawQuery != "" {
		answer += " → " + res.Request.URL.RequestURI()
	}
	return result{answer: answer, peakMiB: peakRSS(srv.Process.Pid), beforeMiB: before, took: took}, nil
}

// refusedRE pulls the report's headline and its "and N more" out of the
// import page, to show what the administrator saw.
func refusedRE(body []byte) string {
	var out []string
	for _, id := range []string{`<div class="error" role="alert" id="import-problems">`, `</ul>`} {
		if _, rest, ok := bytes.Cut(body, []byte(id)); ok {
			rest = bytes.TrimSpace(rest)
			if p, ok := bytes.CutPrefix(rest, []byte("<p>")); ok {
				line, _, _ := bytes.Cut(p, []byte("</p>"))
				out = append(out, string(line))
			}
		}
	}
	return strings.Join(out, " ")
}

func waitHealthy(c *http.Client, base string) error {
	for range 100 {
		if res, err := c.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("serve did not become healthy in 10 s")
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// peakRSS reads a process's peak resident set size (VmHWM), in MiB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
