package metrics

import (
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Counter is a count that only goes up, safe for concurrent use: an
// increment is one atomic add.
type Counter struct {
	desc *Desc
	n    atomic.Uint64
}

// NewCounter returns a Counter named name, with help text help.
func NewCounter(name, help string) *Counter {
	return &Counter{desc: NewDesc(name, help, CounterType)}
}

// Inc adds one.
func (c *Counter) Inc() { c.n.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.n.Add(n) }

// Value is the count now.
func (c *Counter) Value() uint64 { return c.n.Load() }

func (c *Counter) describe() []*Desc { return []*Desc{c.desc} }
func (c *Counter) collect(s *Scrape) error {
	s.add(c.desc, point{value: float64(c.n.Load())})
	return nil
}

// Gauge is a value that goes up and down, safe for concurrent use: its
// float64 is held as atomic bits.
type Gauge struct {
	desc *Desc
	bits atomic.Uint64
}

// NewGauge returns a Gauge named name, with help text help, at 0.
func NewGauge(name, help string) *Gauge {
	return &Gauge{desc: NewDesc(name, help, GaugeType)}
}

// Set sets the value.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Add adds v, which may be negative.
func (g *Gauge) Add(v float64) {
	for {
		old := g.bits.Load()
		if g.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Inc adds one.
func (g *Gauge) Inc() { g.Add(1) }

// Dec takes one away.
func (g *Gauge) Dec() { g.Add(-1) }

// Value is the value now.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

func (g *Gauge) describe() []*Desc { return []*Desc{g.desc} }
func (g *Gauge) collect(s *Scrape) error {
	s.add(g.desc, point{value: g.Value()})
	return nil
}

// NewCounterFunc returns a counter whose value fn reads at each scrape:
// for a count another package keeps.
func NewCounterFunc(name, help string, fn func() float64) Collector {
	return &valueFunc{desc: NewDesc(name, help, CounterType), fn: fn}
}

// NewGaugeFunc returns a gauge whose value fn reads at each scrape.
func NewGaugeFunc(name, help string, fn func() float64) Collector {
	return &valueFunc{desc: NewDesc(name, help, GaugeType), fn: fn}
}

type valueFunc struct {
	desc *Desc
	fn   func() float64
}

func (f *valueFunc) describe() []*Desc { return []*Desc{f.desc} }
func (f *valueFunc) collect(s *Scrape) error {
	s.add(f.desc, point{value: f.fn()})
	return nil
}

// CounterVec is a family of Counters told apart by label values, such as
// requests by route and status. With looks a child up under a lock: a hot
// path keeps the *Counter it returns rather than call With each time.
type CounterVec struct {
	desc     *Desc
	mu       sync.Mutex
	children map[string]*child
}

type child struct {
	labels []string
	c      Counter
}

// NewCounterVec returns a counter family named name whose series are told
// apart by the labels.
func NewCounterVec(name, help string, labels ...string) *CounterVec {
	return &CounterVec{desc: NewDesc(name, help, CounterType, labels...), children: map[string]*child{}}
}

// With returns the Counter of these label values (in the order the labels
// were given), made at the first call; the wrong number of values is a
// programming error and panics.
func (v *CounterVec) With(labelValues ...string) *Counter {
	if len(labelValues) != len(v.desc.labels) {
		panic("metrics: wrong number of label values for " + v.desc.name)
	}
	key := strings.Join(labelValues, "\xff") // a byte that valid UTF-8 never holds
	v.mu.Lock()
	defer v.mu.Unlock()
	ch := v.children[key]
	if ch == nil {
		ch = &child{labels: slices.Clone(labelValues)}
		v.children[key] = ch
	}
	return &ch.c
}

func (v *CounterVec) describe() []*Desc { return []*Desc{v.desc} }
func (v *CounterVec) collect(s *Scrape) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ch := range v.children {
		s.add(v.desc, point{labels: ch.labels, value: float64(ch.c.n.Load())})
	}
	return nil
}

// Histogram counts observations into fixed buckets, safe for concurrent
// use: an observation is a few atomic operations, no lock. A scrape reads
// the buckets one by one while observations go on, so it may see one
// that its sum does not have yet; its count is always its buckets' total.
type Histogram struct {
	desc    *Desc
	bounds  []float64       // upper bounds, increasing, without +Inf
	counts  []atomic.Uint64 // per bucket, not cumulative; the last is +Inf's
	sumBits atomic.Uint64
}

// NewHistogram returns a histogram named name with these buckets' upper
// bounds (increasing; +Inf is added). Bounds out of order panic.
func NewHistogram(name, help string, buckets []float64) *Histogram {
	for i, b := range buckets {
		if math.IsNaN(b) || math.IsInf(b, 1) || (i > 0 && b <= buckets[i-1]) {
			panic("metrics: the buckets of " + name + " must increase, without NaN or +Inf")
		}
	}
	return &Histogram{desc: NewDesc(name, help, HistogramType), bounds: slices.Clone(buckets),
		counts: make([]atomic.Uint64, len(buckets)+1)}
}

// Observe counts v in the first bucket whose upper bound is v or more.
func (h *Histogram) Observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.counts[i].Add(1)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func (h *Histogram) describe() []*Desc { return []*Desc{h.desc} }
func (h *Histogram) collect(s *Scrape) error {
	p := point{bounds: h.bounds, values: make([]float64, len(h.bounds)), sum: math.Float64frombits(h.sumBits.Load())}
	for i := range h.counts {
		p.count += h.counts[i].Load()
		if i < len(h.bounds) {
			p.values[i] = float64(p.count)
		}
	}
	s.add(h.desc, p)
	return nil
}
