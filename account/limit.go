package account

import (
	"context"
	"fmt"
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
	interval := r.Per / time.Duration(r.N)
	tat, err := tx.LimitState(ctx, key)
	if err != nil {
		return 0, err
	}
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if over := next.Sub(now) - r.Per; over > 0 {
		return over, nil
	}
	if hit {
		return 0, tx.SetLimitState(ctx, key, next)
	}
	return 0, nil
}

func rateLimited(retry time.Duration) *airlock.Error {
	if retry < time.Second {
		retry = time.Second
	}
	return &airlock.Error{Code: airlock.CodeRateLimited, Message: "Too many attempts. Wait a while and try again.", RetryAfter: retry}
}
