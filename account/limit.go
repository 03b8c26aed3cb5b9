package account

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/airlockhq/airlock"
)

// Rate is "N events per Per"; N == 0 turns the limit off.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate reads "N/duration" (like "20/10m") or "0".
func ParseRate(s string) (Rate, error) {
	if strings.TrimSpace(s) == "0" {
		return Rate{}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("want N/duration like 20/10m, or 0")
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 0 {
		return Rate{}, fmt.Errorf("bad count %q", n)
	}
	per, err := time.ParseDuration(d)
	if err != nil || per <= 0 {
		return Rate{}, fmt.Errorf("bad duration %q", d)
	}
	return Rate{N: count, Per: per}, nil
}

func (r Rate) String() string {
	if r.N == 0 {
		return "0"
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// limit checks one rate limit in the database, so it holds across nodes.
// It is a generic cell rate algorithm: one timestamp per key, a burst of N,
// then one event every Per/N. With hit it also counts the event.
func limit(ctx context.Context, tx airlock.Tx, key string, r Rate, now time.Time, hit bool) (retry time.Duration, err error) {
	if r.N <= 0 {
		return 0, nil
	}
	tat, err := tx.LockLimit(ctx, key)
	if err != nil {
		return 0, err
	}
	next, retry := r.step(tat, now)
	if retry > 0 || !hit {
		return retry, nil
	}
	return 0, tx.SetLimit(ctx, key, next)
}

// step is the algorithm for one event at now, from the key's state tat:
// the state once the event is counted, or how long until it would be
// allowed (retry > 0, the state unchanged). r.N must be positive.
func (r Rate) step(tat, now time.Time) (next time.Time, retry time.Duration) {
	if tat.Before(now) {
		tat = now
	}
	next = tat.Add(r.Per / time.Duration(r.N))
	if over := next.Sub(now) - r.Per; over > 0 {
		return tat, over
	}
	return next, 0
}

// reserveEach counts each of many requests against its own limit key, in
// order, exactly as one transaction each would (the state of a key moves
// from one request to the next), in a few statements for all: the keys'
// rows are read and locked at once, in key order, and written back at
// once. It returns, for each request, how long until it would be allowed
// (0: counted).
func reserveEach(ctx context.Context, tx airlock.Tx, keys []limitKey, nows []time.Time) ([]time.Duration, error) {
	var names []string
	for _, k := range keys {
		if k.r.N > 0 {
			names = append(names, k.key)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	retries := make([]time.Duration, len(keys))
	if len(names) == 0 {
		return retries, nil
	}
	tats, err := tx.LockLimits(ctx, names)
	if err != nil {
		return nil, err
	}
	counted := make(map[string]time.Time, len(names))
	for i, k := range keys {
		if k.r.N <= 0 {
			continue
		}
		next, retry := k.r.step(tats[k.key], nows[i])
		if retries[i] = retry; retry == 0 {
			tats[k.key], counted[k.key] = next, next
		}
	}
	return retries, tx.SetLimits(ctx, counted)
}

// limitKey is one limit a request counts against: its key and its rate.
type limitKey struct {
	key string
	r   Rate
}

// ipKey is the limiter key of a client address. IPv6 clients are keyed by
// their /64: one subscriber usually holds a whole /64, so keying by address
// would give an attacker 2^64 allowances.
func ipKey(prefix, ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return prefix + ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return prefix + p.String()
	}
	return prefix + a.String()
}

// reserve counts one attempt against every key, in the caller's
// transaction, before the work the limits protect: the check and the count
// are one step under the row lock (PostgreSQL) or the write lock (SQLite),
// so N parallel attempts, on any number of nodes, get at most the limits'
// worth through. When any key refuses, nothing is counted and the longest
// wait is returned with the refusing key.
func reserve(ctx context.Context, tx airlock.Tx, keys []limitKey, now time.Time) (time.Duration, *limitKey, error) {
	for i := range keys {
		retry, err := limit(ctx, tx, keys[i].key, keys[i].r, now, false)
		if err != nil {
			return 0, nil, err
		}
		if retry > 0 {
			return retry, &keys[i], nil
		}
	}
	for _, k := range keys {
		if _, err := limit(ctx, tx, k.key, k.r, now, true); err != nil {
			return 0, nil, err
		}
	}
	return 0, nil, nil
}

// release gives back one attempt reserved under k, as after a success.
func release(ctx context.Context, tx airlock.Tx, k limitKey, now time.Time) error {
	if k.r.N <= 0 {
		return nil
	}
	tat, err := tx.LockLimit(ctx, k.key)
	if err != nil || !tat.After(now) {
		return err
	}
	tat = tat.Add(-k.r.Per / time.Duration(k.r.N))
	if tat.Before(now) {
		tat = now
	}
	return tx.SetLimit(ctx, k.key, tat)
}

// auditRefusal writes the audit event of a refused request at most once
// per limit window and key: refusals cost the attacker a request and the
// defender nothing (SPEC §6.14).
func (s *Service) auditRefusal(ctx context.Context, tx airlock.Tx, k *limitKey, now time.Time, kind string, m Meta, subject, detail string) error {
	return s.auditOnce(ctx, tx, k.key, k.r.Per, now, kind, m, "", subject, "rate_limited", detail)
}

// auditOnce writes an audit event at most once per window and key: for
// refusals a client may repeat at will, where the first says all.
func (s *Service) auditOnce(ctx context.Context, tx airlock.Tx, key string, window time.Duration, now time.Time,
	kind string, m Meta, subjectID, subject, outcome, detail string, args ...any) error {
	first, err := tx.MarkLimitRefusalAudited(ctx, key, now, now.Add(window))
	if err != nil || !first {
		return err
	}
	return s.audit(ctx, tx, kind, m, subjectID, subject, outcome, detail, args...)
}

func rateLimited(retry time.Duration) *airlock.Error {
	if retry < time.Second {
		retry = time.Second
	}
	return &airlock.Error{Code: airlock.CodeRateLimited, Key: "error.rate_limited", RetryAfter: retry}
}

// reserveAlone reserves one attempt under k in a transaction of its own.
// A refusal is audited (once per window) as an event of kind, what naming
// the limit, and returned as rate_limited; a failure to write is returned
// prefixed with op.
func (s *Service) reserveAlone(ctx context.Context, op string, k limitKey, now time.Time, kind string, m Meta, what string) error {
	var retry time.Duration
	err := s.store.Update(ctx, func(tx airlock.Tx) error {
		var refused *limitKey
		var err error
		if retry, refused, err = reserve(ctx, tx, []limitKey{k}, now); err != nil || refused == nil {
			return err
		}
		return s.auditRefusal(ctx, tx, refused, now, kind, m, "", what)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if retry > 0 {
		return rateLimited(retry)
	}
	return nil
}
