package metrics

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"time"
)

var (
	goroutinesDesc = NewDesc("go_goroutines", "Goroutines that exist now.", GaugeType)
	threadsDesc    = NewDesc("go_threads", "Operating system threads the Go runtime created.", GaugeType)
	infoDesc       = NewDesc("go_info", "The Go version the program was built with.", GaugeType, "version")
	gcDesc         = NewDesc("go_gc_duration_seconds", "Pauses (stop-the-world) of garbage collection, in seconds: the last 256 pauses' quantiles, the total and the number of collections.", SummaryType)
	allocDesc      = NewDesc("go_memstats_alloc_bytes", "Bytes of heap objects allocated and not yet freed.", GaugeType)
	heapInuseDesc  = NewDesc("go_memstats_heap_inuse_bytes", "Bytes in heap spans in use (objects and their spans' unused space).", GaugeType)
	sysDesc        = NewDesc("go_memstats_sys_bytes", "Bytes of memory the Go runtime obtained from the system.", GaugeType)
	nextGCDesc     = NewDesc("go_memstats_next_gc_bytes", "Heap size the next garbage collection aims at.", GaugeType)
)

// runtimeSamples are the runtime/metrics the Go collector reads. Reading
// them does not stop the world, unlike runtime.ReadMemStats.
var runtimeSamples = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/total:bytes",
	"/gc/heap/goal:bytes",
}

// NewGoCollector returns the Go runtime's metrics: go_goroutines,
// go_threads, go_info, go_gc_duration_seconds and four go_memstats_ gauges
// (alloc, heap in use, sys, next GC), under the Prometheus client's names.
func NewGoCollector() Collector {
	return &funcCollector{fn: collectGo, descs: []*Desc{goroutinesDesc, threadsDesc, infoDesc, gcDesc, allocDesc, heapInuseDesc, sysDesc, nextGCDesc}}
}

func collectGo(s *Scrape) error {
	s.Add(goroutinesDesc, float64(runtime.NumGoroutine()))
	threads, _ := runtime.ThreadCreateProfile(nil)
	s.Add(threadsDesc, float64(threads))
	s.Add(infoDesc, 1, runtime.Version())

	stats := debug.GCStats{PauseQuantiles: make([]time.Duration, 5)}
	debug.ReadGCStats(&stats)
	gc := point{bounds: []float64{0, 0.25, 0.5, 0.75, 1}, values: make([]float64, 5),
		sum: stats.PauseTotal.Seconds(), count: uint64(stats.NumGC)}
	for i, q := range stats.PauseQuantiles {
		gc.values[i] = q.Seconds()
	}
	s.add(gcDesc, gc)

	samples := make([]rtmetrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		samples[i].Name = name
	}
	rtmetrics.Read(samples)
	u := func(i int) float64 {
		if samples[i].Value.Kind() != rtmetrics.KindUint64 {
			return 0 // not in this Go version: the doc promises names stay, but say 0 rather than panic
		}
		return float64(samples[i].Value.Uint64())
	}
	s.Add(allocDesc, u(0))
	s.Add(heapInuseDesc, u(0)+u(1))
	s.Add(sysDesc, u(2))
	s.Add(nextGCDesc, u(3))
	return nil
}

var (
	cpuDesc       = NewDesc("process_cpu_seconds_total", "User and system CPU time the process spent, in seconds.", CounterType)
	rssDesc       = NewDesc("process_resident_memory_bytes", "Resident memory size, in bytes.", GaugeType)
	vsizeDesc     = NewDesc("process_virtual_memory_bytes", "Virtual memory size, in bytes.", GaugeType)
	openFDsDesc   = NewDesc("process_open_fds", "Open file descriptors.", GaugeType)
	maxFDsDesc    = NewDesc("process_max_fds", "The limit of open file descriptors (soft).", GaugeType)
	startTimeDesc = NewDesc("process_start_time_seconds", "When the process started, in seconds since the Unix epoch.", GaugeType)
)

// NewProcessCollector returns the process's metrics, read from /proc/self
// (Linux): process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds. Elsewhere a scrape leaves them out and logs why.
func NewProcessCollector() Collector {
	return &funcCollector{fn: collectProcess, descs: []*Desc{cpuDesc, rssDesc, vsizeDesc, openFDsDesc, maxFDsDesc, startTimeDesc}}
}

// userHZ is the unit of /proc's clock ticks: Linux fixes it at 100 for
// user space on every architecture, whatever the kernel's own HZ.
const userHZ = 100

func collectProcess(s *Scrape) error {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return err
	}
	// The command's name (field 2) is in parentheses and may hold spaces:
	// the fields are counted from the last parenthesis.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return fmt.Errorf("read /proc/self/stat: no command name")
	}
	fields := strings.Fields(string(stat[end+1:])) // fields[0] is field 3, the state
	if len(fields) < 22 {
		return fmt.Errorf("read /proc/self/stat: %d fields", len(fields)+2)
	}
	field := func(n int) (float64, error) { // n counts from 1, as proc(5) does
		v, err := strconv.ParseUint(fields[n-3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read /proc/self/stat field %d: %w", n, err)
		}
		return float64(v), nil
	}
	utime, err1 := field(14)
	stime, err2 := field(15)
	start, err3 := field(22)
	vsize, err4 := field(23)
	rss, err5 := field(24)
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err != nil {
			return err
		}
	}
	boot, err := bootTime()
	if err != nil {
		return err
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	maxFDs, err := openFilesLimit()
	if err != nil {
		return err
	}
	s.Add(cpuDesc, (utime+stime)/userHZ)
	s.Add(rssDesc, rss*float64(os.Getpagesize()))
	s.Add(vsizeDesc, vsize)
	s.Add(openFDsDesc, float64(len(fds)-1)) // less the descriptor ReadDir itself had open
	s.Add(maxFDsDesc, maxFDs)
	s.Add(startTimeDesc, boot+start/userHZ)
	return nil
}

// bootTime reads when the system booted, in seconds since the Unix epoch,
// from /proc/stat's btime line.
func bootTime() (float64, error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(stat), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("read /proc/stat: no btime")
}

// openFilesLimit reads the soft limit of open files from /proc/self/limits.
func openFilesLimit() (float64, error) {
	limits, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(limits), "\n") {
		if v, ok := strings.CutPrefix(line, "Max open files"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if f[0] == "unlimited" {
					return math.Inf(1), nil
				}
				return strconv.ParseFloat(f[0], 64)
			}
		}
	}
	return 0, fmt.Errorf("read /proc/self/limits: no open files limit")
}
