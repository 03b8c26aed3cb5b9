package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuSample is CPU seconds used so far, read at one moment.
type cpuSample struct {
	at                               time.Time
	servers, postgres, machine, self float64
	pg                               map[int]float64 // each backend's
}

// cpuNow reads the servers' (o.pids), their database's PostgreSQL
// backends' (-postgres-db), the whole machine's busy and this process's
// CPU seconds. A backend seen in before but gone since is kept at its
// last reading.
func (o options) cpuNow(before map[int]float64) cpuSample {
	s := cpuSample{at: time.Now(), machine: machineBusy(), self: cpuSeconds(os.Getpid())}
	for _, pid := range o.pids {
		s.servers += cpuSeconds(pid)
	}
	if o.postgresDB != "" {
		s.pg = postgresBackends(o.postgresDB, before)
		for _, c := range s.pg {
			s.postgres += c
		}
	}
	return s
}

// minus is what was used from b to s. A backend that began between them
// counts from zero; one that ended before s was read counts until it was
// last seen (the pools keep their connections: these are few).
func (s cpuSample) minus(b cpuSample) cpuSample {
	return cpuSample{at: s.at, servers: s.servers - b.servers, postgres: s.postgres - b.postgres,
		machine: s.machine - b.machine, self: s.self - b.self}
}

// postgresBackends reads the CPU seconds of every PostgreSQL backend
// connected to db (its process title names the database), with those of
// before that are gone at their last reading. The cluster's shared
// processes (WAL writer, checkpointer) and others' databases are not
// counted.
func postgresBackends(db string, before map[int]float64) map[int]float64 {
	m := maps.Clone(before)
	if m == nil {
		m = map[int]float64{}
	}
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		// "postgres: 15/main: USER DB 127.0.0.1(PORT) STATE"
		if err != nil || !bytes.HasPrefix(b, []byte("postgres: ")) || !bytes.Contains(b, []byte(" "+db+" ")) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		if c := cpuSeconds(pid); c > 0 {
			m[pid] = c
		}
	}
	return m
}

// machineBusy reads the whole machine's busy CPU seconds (user, nice,
// system, irq, softirq) from /proc/stat.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	busy := 0.0
	for _, i := range []int{1, 2, 3, 6, 7} {
		v, _ := strconv.ParseFloat(f[i], 64)
		busy += v
	}
	return busy / 100 // USER_HZ
}
