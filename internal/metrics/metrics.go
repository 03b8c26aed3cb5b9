// Package metrics keeps a service's counters, gauges and histograms and
// writes them in Prometheus's text exposition format (version 0.0.4), with
// the standard library only: the few metrics Airlock serves did not justify
// the Prometheus client's weight in every node's binary and memory.
package metrics

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Type is the kind of a metric family, as its # TYPE line says it.
type Type string

// The kinds of family a scrape writes.
const (
	CounterType   Type = "counter"
	GaugeType     Type = "gauge"
	HistogramType Type = "histogram"
	SummaryType   Type = "summary"
)

// Desc describes one metric family: its name, help text, kind and label
// names. Collectors made with NewCollector declare their families with it.
type Desc struct {
	name, help string
	typ        Type
	labels     []string
	order      []int // indexes of labels sorted by name: the order they are written in
}

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// NewDesc describes a family. A name or label name Prometheus would
// refuse is a programming error: it panics.
func NewDesc(name, help string, typ Type, labels ...string) *Desc {
	if !nameRE.MatchString(name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	d := &Desc{name: name, help: help, typ: typ, labels: labels}
	for i, l := range labels {
		if !labelRE.MatchString(l) || strings.HasPrefix(l, "__") || l == "le" || l == "quantile" || slices.Contains(labels[:i], l) {
			panic(fmt.Sprintf("metrics: invalid or repeated label name %q on %s", l, name))
		}
		d.order = append(d.order, i)
	}
	slices.SortFunc(d.order, func(a, b int) int { return cmp.Compare(labels[a], labels[b]) })
	return d
}

// A Collector writes one or more families at each scrape. Counters,
// gauges, histograms and the like are Collectors; NewCollector makes one
// from a function, for values read only when scraped.
type Collector interface {
	describe() []*Desc
	collect(s *Scrape) error
}

// NewCollector returns a Collector whose values collect reads at each
// scrape (from a database, say), writing them with s.Add to the families
// descs declares. When collect fails, none of its families is served in
// that scrape; the rest are, and the error is logged.
func NewCollector(collect func(s *Scrape) error, descs ...*Desc) Collector {
	for _, d := range descs {
		if d.typ != CounterType && d.typ != GaugeType {
			panic(fmt.Sprintf("metrics: NewCollector writes counters and gauges, not the %s %s", d.typ, d.name))
		}
	}
	return &funcCollector{descs: descs, fn: collect}
}

type funcCollector struct {
	descs []*Desc
	fn    func(*Scrape) error
}

func (c *funcCollector) describe() []*Desc       { return c.descs }
func (c *funcCollector) collect(s *Scrape) error { return c.fn(s) }

// Registry holds the Collectors a scrape reads.
type Registry struct {
	mu         sync.Mutex
	names      map[string]bool
	collectors []Collector
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{names: map[string]bool{}} }

// MustRegister adds collectors. A family name registered twice is a
// programming error: it panics, at start rather than in a scrape.
func (r *Registry) MustRegister(cs ...Collector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		for _, d := range c.describe() {
			if r.names[d.name] {
				panic("metrics: " + d.name + " registered twice")
			}
			r.names[d.name] = true
		}
		r.collectors = append(r.collectors, c)
	}
}

// Scrape gathers the values of one scrape. A Collector made with
// NewCollector writes its values with Add.
type Scrape struct {
	current  []*Desc // the families of the collector being read
	families map[*Desc]*family
}

type family struct {
	desc   *Desc
	points []point
}

// point is one series: a counter's or gauge's value, or a histogram's or
// summary's buckets (upper bounds, cumulative counts) or quantiles.
type point struct {
	labels []string // values, in the Desc's label order
	value  float64
	bounds []float64 // histogram: upper bounds without +Inf; summary: quantiles
	values []float64 // histogram: cumulative counts; summary: the quantiles' values
	sum    float64
	count  uint64
}

// Add writes one value of family d, a counter or gauge of the calling
// collector, with its label values in d's label order.
func (s *Scrape) Add(d *Desc, value float64, labelValues ...string) {
	if d.typ != CounterType && d.typ != GaugeType {
		panic("metrics: Add on the " + string(d.typ) + " " + d.name)
	}
	s.add(d, point{labels: labelValues, value: value})
}

func (s *Scrape) add(d *Desc, p point) {
	if !slices.Contains(s.current, d) {
		panic("metrics: " + d.name + " written by a collector that did not declare it")
	}
	if len(p.labels) != len(d.labels) {
		panic(fmt.Sprintf("metrics: %s has %d labels, got %d values", d.name, len(d.labels), len(p.labels)))
	}
	f := s.families[d]
	if f == nil {
		f = &family{desc: d}
		s.families[d] = f
	}
	f.points = append(f.points, p)
}

// Gather writes every family into buf in the text exposition format,
// sorted by name, each family's series sorted by label values. A collector
// that fails is left out of buf and its error returned (all failures
// joined), after the rest is written.
func (r *Registry) Gather(buf *bytes.Buffer) error {
	r.mu.Lock()
	collectors := slices.Clone(r.collectors)
	r.mu.Unlock()
	s := &Scrape{families: map[*Desc]*family{}}
	var errs []error
	for _, c := range collectors {
		s.current = c.describe()
		if err := c.collect(s); err != nil {
			for _, d := range s.current {
				delete(s.families, d)
			}
			names := make([]string, len(s.current))
			for i, d := range s.current {
				names[i] = d.name
			}
			errs = append(errs, fmt.Errorf("collect %s: %w", strings.Join(names, ", "), err))
		}
	}
	families := make([]*family, 0, len(s.families))
	for _, f := range s.families {
		families = append(families, f)
	}
	slices.SortFunc(families, func(a, b *family) int { return strings.Compare(a.desc.name, b.desc.name) })
	for _, f := range families {
		writeFamily(buf, f)
	}
	return errors.Join(errs...)
}

func writeFamily(b *bytes.Buffer, f *family) {
	d := f.desc
	slices.SortStableFunc(f.points, func(x, y point) int {
		for _, i := range d.order {
			if c := strings.Compare(x.labels[i], y.labels[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", d.name, helpEscaper.Replace(d.help), d.name, d.typ)
	for _, p := range f.points {
		switch d.typ {
		case HistogramType:
			for i, bound := range p.bounds {
				writeSample(b, d, "_bucket", p.labels, "le", bound, p.values[i])
			}
			writeSample(b, d, "_bucket", p.labels, "le", math.Inf(1), float64(p.count))
		case SummaryType:
			for i, q := range p.bounds {
				writeSample(b, d, "", p.labels, "quantile", q, p.values[i])
			}
		default:
			writeSample(b, d, "", p.labels, "", 0, p.value)
			continue
		}
		writeSample(b, d, "_sum", p.labels, "", 0, p.sum)
		writeSample(b, d, "_count", p.labels, "", 0, float64(p.count))
	}
}

// writeSample writes one line: the name and suffix, the labels sorted by
// name, then the extra label (le or quantile, which sort last in the
// format's custom) if any, and the value.
func writeSample(b *bytes.Buffer, d *Desc, suffix string, labels []string, extra string, extraValue, value float64) {
	b.WriteString(d.name)
	b.WriteString(suffix)
	if len(labels) > 0 || extra != "" {
		b.WriteByte('{')
		for n, i := range d.order {
			if n > 0 {
				b.WriteByte(',')
			}
			b.WriteString(d.labels[i])
			b.WriteString(`="`)
			labelEscaper.WriteString(b, labels[i])
			b.WriteByte('"')
		}
		if extra != "" {
			if len(labels) > 0 {
				b.WriteByte(',')
			}
			b.WriteString(extra)
			b.WriteString(`="`)
			b.Write(appendFloat(b.AvailableBuffer(), extraValue))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.Write(appendFloat(b.AvailableBuffer(), value))
	b.WriteByte('\n')
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// appendFloat formats f as Prometheus does: +Inf, -Inf, NaN, else the
// shortest representation that reads back to the same value.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
