package account

import (
	"context"
	"time"

	"github.com/airlockhq/airlock"
)

// While forgot requests keep arriving, the workers give way to them: a
// request is answered once it is durably queued, and the work it causes
// (look-up, audit event, link, email) can wait a little, whereas on cores
// shared with the answers that work took two thirds of them and cut the
// rate at which a burst is answered to a third (bench/RESULTS.md,
// 2026-11-27, "giving way"). They give way only until the oldest job
// waiting is giveWayLag old; from then on they work at full speed, as
// before, and what the burst has built up is worked off at the rate the
// rest of the flood leaves them: a burst of a few seconds is answered at
// nearly the speed of the requests alone and its emails follow within
// seconds to tens of seconds; a flood held longer is answered faster than
// before, and its emails come later (RESULTS has both). With no flood of
// forgot requests, nothing changes. Each node gives way to the requests it
// answers itself: another node's workers, not answering them, take the jobs
// at full speed.
const (
	// giveWayShare: after a batch that took d while requests arrived, the
	// workers pause giveWayShare × d, doing a tenth of what they would.
	giveWayShare = 9
	// giveWayLag is how far the work may fall behind its requests (the
	// time the oldest job of a batch had been due) before the workers stop
	// giving way.
	giveWayLag = 10 * time.Second
	// giveWayMax bounds one pause, so that one slow batch (a large one, an
	// SMTP server taking its time) never parks the workers for long.
	giveWayMax = time.Second
	// giveWayRate is the rate of forgot requests (per second, while a batch
	// ran) from which the workers give way: a flood, far above what people
	// ask for (each address is limited to 20 in 10 minutes), so that a few
	// requests arriving while a slow batch of emails goes out never slow the
	// emails down.
	giveWayRate = 100
)

// giveWay is how long the workers pause after a batch that took took,
// whose oldest job had been due for lag, during which arrived forgot
// requests came: giveWayShare × took, at most giveWayMax, when they came
// at giveWayRate or faster and lag is below giveWayLag; otherwise nothing.
func giveWay(arrived uint64, took, lag time.Duration) time.Duration {
	if arrived == 0 || took <= 0 || lag >= giveWayLag || float64(arrived) < giveWayRate*took.Seconds() {
		return 0
	}
	return min(took*giveWayShare, giveWayMax)
}

// oldestDue is the earliest time at which one of jobs became due.
func oldestDue(jobs []*airlock.Job) time.Time {
	oldest := jobs[0].RunAt
	for _, job := range jobs[1:] {
		if job.RunAt.Before(oldest) {
			oldest = job.RunAt
		}
	}
	return oldest
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
