package account

import (
	"context"
)

// ForgotRequest is one request of a ForgotBatch.
type ForgotRequest struct {
	Email string
	Meta  Meta
}

// ForgotBatch runs reqs through the forgot queue as one batch, as if they
// had all arrived while the previous batch was being written, and returns
// each one's answer, in order: what RequestReset would have returned to
// each.
func (s *Service) ForgotBatch(ctx context.Context, reqs []ForgotRequest) []error {
	errs := make([]error, len(reqs))
	var batch []*forgotRequest
	var index []int
	for i, r := range reqs {
		it, err := s.newForgotRequest(ctx, r.Email, r.Meta)
		if err != nil {
			errs[i] = err // refused before it reaches the queue, as in RequestReset
			continue
		}
		batch = append(batch, it)
		index = append(index, i)
	}
	s.commitForgot(batch)
	for k, it := range batch {
		<-it.done
		errs[index[k]] = s.forgotAnswer(ctx, it)
	}
	return errs
}

// NewRecoveryCodes makes a set of recovery codes and their hashes, as
// stored (for an account given codes by a test).
func NewRecoveryCodes() ([]string, [][]byte, error) { return newRecoveryCodes() }
