package account_test

// The code beside the link: a forgot request answers a flow id, and the
// flow with the code from the email stands for the email's link.

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/mailtest"
)

// codeRE finds the code an email shows beside its link.
var codeRE = regexp.MustCompile(`\b[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\b`)

// codeFrom extracts the code from a delivered email's text part.
func codeFrom(t *testing.T, m mailtest.Message) string {
	t.Helper()
	c := codeRE.FindString(m.Parts()["text/plain"])
	if c == "" {
		t.Fatalf("no code in email %q", m.Header("Subject"))
	}
	return c
}

// askFlow asks for a reset of email on e and returns the flow id.
func askFlow(t *testing.T, e *env, email string) string {
	t.Helper()
	flow, err := e.svc.RequestReset(context.Background(), email, meta)
	if err != nil {
		t.Fatal(err)
	}
	return flow
}

// flowCode asks for a reset of email and returns the flow and the code of
// the email it sends.
func flowCode(t *testing.T, e *env, email string) (string, string) {
	t.Helper()
	before := len(e.smtp.Messages())
	flow := askFlow(t, e, email)
	e.drain(t)
	msgs := e.smtp.Wait(t, before+1)
	return flow, codeFrom(t, msgs[len(msgs)-1])
}

// TestFlowCodeResets: the flow a forgot request answered and the code from
// its email set a new password, once, as the link does: typed in either
// case, with or without the hyphen; then neither works again, nor does the
// link (one family, SPEC §6.2).
func TestFlowCodeResets(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword)
		other := a.resetToken(t, "ada@example.com")
		flow, c := flowCode(t, a, "ada@example.com")
		token := tokenFrom(t, a.smtp.Messages()[1])
		typed := strings.ToLower(strings.ReplaceAll(c, "-", " "))
		if u, purpose, err := b.svc.CheckLink(ctx, account.ByCode(flow, typed), meta); err != nil || u.Email != "ada@example.com" || purpose != airlock.TokenPurposeReset {
			t.Fatalf("check: %v %v", u, err)
		}
		if _, _, err := b.svc.CompleteLink(ctx, account.ByCode(flow, typed), "short", "", meta); code(err) != airlock.CodePasswordPolicy {
			t.Fatalf("policy: %v", err)
		}
		if _, _, err := b.svc.CompleteLink(ctx, account.ByCode(flow, typed), "chosen with the code", "", meta); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := a.svc.SignIn(ctx, "ada@example.com", "chosen with the code", "", meta); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.svc.CompleteLink(ctx, account.ByCode(flow, c), "once more with the code", "", meta); detail(err) != account.CodeWrong {
			t.Fatalf("second use of the code: %v", err)
		}
		for _, tok := range []string{token, other} {
			if _, _, err := a.svc.CheckLink(ctx, account.ByToken(tok), meta); detail(err) != account.TokenUsed {
				t.Fatalf("a link after the code was used: %v", err)
			}
		}
	})
}

// TestFlowAnswerSameForEveryAddress: every forgot request gets a flow of
// the same shape, made before anything is looked up, whatever the account;
// a flow for an address with no account, or an inactive one, never
// accepts any code, not even one that works for another flow.
func TestFlowAnswerSameForEveryAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	gone := e.user(t, "gone@example.com", goodPassword)
	if _, err := e.svc.AdminUpdateUser(ctx, account.Operator, gone.ID, account.UserChanges{Active: ptr(false)}, meta); err != nil {
		t.Fatal(err)
	}
	flows := map[string]bool{}
	var nobody, inactive string
	for _, email := range []string{"ada@example.com", "nobody@example.com", "gone@example.com"} {
		flow := askFlow(t, e, email)
		if b, err := base64.RawURLEncoding.DecodeString(flow); err != nil || len(b) != 32 || flows[flow] {
			t.Fatalf("flow %q for %s", flow, email)
		}
		flows[flow] = true
		switch email {
		case "nobody@example.com":
			nobody = flow
		case "gone@example.com":
			inactive = flow
		}
	}
	e.drain(t)
	msgs := e.smtp.Wait(t, 1)
	if len(msgs) != 1 {
		t.Fatalf("%d emails", len(msgs))
	}
	right := codeFrom(t, msgs[0])
	for _, flow := range []string{nobody, inactive} {
		for _, c := range []string{right, "BCDF-GHJK"} {
			if _, _, err := e.svc.CompleteLink(ctx, account.ByCode(flow, c), "not for this flow", "", meta); detail(err) != account.CodeWrong || airlock.AsError(err).Field != "code" {
				t.Fatalf("code %s with a flow of no account: %v", c, err)
			}
		}
	}
}

// TestFlowEndsAfterFiveWrongCodes: five wrong codes end a flow (the right
// code then no longer works with it, for an address with an account or
// without: the answers are the same), while the link of its email still
// works and a new flow does too.
func TestFlowEndsAfterFiveWrongCodes(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword)
		flow, right := flowCode(t, a, "ada@example.com")
		nobody := askFlow(t, a, "nobody@example.com")
		var answers [2][]string
		for i, f := range []string{flow, nobody} {
			for n := range 6 {
				// From addresses of their own: the per-address limit stays out of it.
				m := account.Meta{IP: fmt.Sprintf("198.51.100.%d", 10*i+n+1)}
				_, _, err := []*env{a, b}[n%2].svc.CheckLink(ctx, account.ByCode(f, "BCDF-GHJK"), m)
				answers[i] = append(answers[i], string(code(err))+" "+detail(err))
			}
		}
		if fmt.Sprint(answers[0]) != fmt.Sprint(answers[1]) {
			t.Fatalf("answers differ:\n%v\n%v", answers[0], answers[1])
		}
		want := "[invalid_token wrong_code invalid_token wrong_code invalid_token wrong_code invalid_token wrong_code invalid_token wrong_code invalid_token flow_ended]"
		if fmt.Sprint(answers[0]) != want {
			t.Fatalf("answers %v, want %v", answers[0], want)
		}
		if _, _, err := b.svc.CompleteLink(ctx, account.ByCode(flow, right), "the right code, too late", "", meta); detail(err) != account.FlowEnded {
			t.Fatalf("right code after five wrong ones: %v", err)
		}
		token := tokenFrom(t, a.smtp.Messages()[0])
		if _, _, err := a.svc.CheckLink(ctx, account.ByToken(token), meta); err != nil {
			t.Fatalf("the email's link: %v", err)
		}
		flow2, right2 := flowCode(t, a, "ada@example.com")
		if _, _, err := b.svc.CompleteLink(ctx, account.ByCode(flow2, right2), "with a new request's code", "", meta); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFlowParallelGuessesCounted: of many wrong codes sent at once with
// one flow, over two nodes, at most five are checked; the rest are
// refused as the flow's end.
func TestFlowParallelGuessesCounted(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword)
		flow, _ := flowCode(t, a, "ada@example.com")
		var wrong, ended atomic.Int32
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() {
				m := account.Meta{IP: fmt.Sprintf("198.51.100.%d", i+1)}
				_, _, err := []*env{a, b}[i%2].svc.CheckLink(ctx, account.ByCode(flow, fmt.Sprintf("BCDF-GHJ%c", "BCDFGHJKLMNPQRSTVWXZ"[i%20])), m)
				switch detail(err) {
				case account.CodeWrong:
					wrong.Add(1)
				case account.FlowEnded:
					ended.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wrong.Load() > 5 || wrong.Load()+ended.Load() != 30 {
			t.Fatalf("%d codes checked, %d refused: want at most 5 checked", wrong.Load(), ended.Load())
		}
	})
}

// TestFlowCodeUsedOnce: one flow and its right code sent at once many
// times, over two nodes: exactly one sets the password.
func TestFlowCodeUsedOnce(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, a, b *env) {
		ctx := context.Background()
		a.user(t, "ada@example.com", goodPassword)
		flow, right := flowCode(t, a, "ada@example.com")
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				m := account.Meta{IP: fmt.Sprintf("198.51.100.%d", i+1)}
				_, _, err := []*env{a, b}[i%2].svc.CompleteLink(ctx, account.ByCode(flow, right), fmt.Sprintf("raced with the code %d", i), "", m)
				switch {
				case err == nil:
					ok.Add(1)
				case code(err) != airlock.CodeInvalidToken:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d successes, want exactly 1", ok.Load())
		}
	})
}

// TestFlowWrongCodesCountPerAddress: wrong codes count against the
// per-address limit on bad links, whichever flow they name.
func TestFlowWrongCodesCountPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *account.Config) { c.LimitBadTokenPerIP = account.Rate{N: 3, Per: 10 * time.Minute} })
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	flow, right := flowCode(t, e, "ada@example.com")
	for i := range 3 {
		other := askFlow(t, e, "nobody@example.com")
		if _, _, err := e.svc.CheckLink(ctx, account.ByCode(other, "BCDF-GHJK"), meta); detail(err) != account.CodeWrong {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, _, err := e.svc.CheckLink(ctx, account.ByCode(flow, right), meta); code(err) != airlock.CodeRateLimited {
		t.Fatalf("after three wrong codes from this address: %v", err)
	}
	if _, _, err := e.svc.CheckLink(ctx, account.ByCode(flow, right), account.Meta{IP: "203.0.113.9"}); err != nil {
		t.Fatalf("from another address: %v", err)
	}
}

// TestFlowCodeBadInput: a code or flow that cannot be one is refused as
// bad input, and counts nothing.
func TestFlowCodeBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *account.Config) { c.LimitBadTokenPerIP = account.Rate{N: 1, Per: 10 * time.Minute} })
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	flow, right := flowCode(t, e, "ada@example.com")
	for _, l := range []account.Link{
		account.ByCode(flow, ""), account.ByCode(flow, "BCDF-GHJ"), account.ByCode(flow, "BCDF-GHJKL"),
		account.ByCode(flow, "ABCD-EFGH"), account.ByCode(flow, "BCDF-GHJ1"), account.ByCode(flow, "BCDF\nGHJK"),
		account.ByCode("", right), account.ByCode("not a flow", right), account.ByCode(flow+"A", right),
	} {
		if _, _, err := e.svc.CheckLink(ctx, l, meta); code(err) != airlock.CodeInvalid {
			t.Fatalf("%q: %v", l, err)
		}
	}
	if _, _, err := e.svc.CompleteLink(ctx, account.ByCode(flow, right), "nothing was counted", "", meta); err != nil {
		t.Fatal(err)
	}
}

// TestFlowTakesAnyLiveCodeOfItsAccount: emails arrive out of order; once a
// flow's own email was sent, it takes the code of any of the account's
// live links (here the first request's, with the second's flow), and that
// kills the others.
func TestFlowTakesAnyLiveCodeOfItsAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.user(t, "ada@example.com", goodPassword)
	_, first := flowCode(t, e, "ada@example.com")
	second := askFlow(t, e, "ada@example.com")
	// Before its own email went out, the flow takes no code.
	if _, _, err := e.svc.CheckLink(ctx, account.ByCode(second, first), meta); detail(err) != account.CodeWrong {
		t.Fatalf("before its email: %v", err)
	}
	e.drain(t)
	e.smtp.Wait(t, 2)
	if _, _, err := e.svc.CompleteLink(ctx, account.ByCode(second, first), "the first email's code", "", meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CheckLink(ctx, account.ByToken(tokenFrom(t, e.smtp.Messages()[1])), meta); detail(err) != account.TokenUsed {
		t.Fatalf("the second email's link: %v", err)
	}
}

// TestFlowCodeDiesWithTheFamily: a password change (here by an
// administrator) or the link's expiry kills the code.
func TestFlowCodeDiesWithTheFamily(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	flow, c := flowCode(t, e, "ada@example.com")
	if err := e.svc.AdminSetPassword(ctx, account.Operator, u.ID, "set by the operator", "", false, meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CheckLink(ctx, account.ByCode(flow, c), meta); detail(err) != account.CodeWrong {
		t.Fatalf("after a password change: %v", err)
	}
	flow, c = flowCode(t, e, "ada@example.com")
	e.clock.Advance(e.svc.Config().ResetTokenTTL)
	if _, _, err := e.svc.CheckLink(ctx, account.ByCode(flow, c), meta); detail(err) != account.CodeWrong {
		t.Fatalf("after the link expired: %v", err)
	}
}

// TestFlowCodeNeedsTwoFactor: for an account with two-step sign-in, the
// flow and code alone (a mailbox) change nothing; with the app's code they
// do, in one call or after the code step (SPEC §6.15).
func TestFlowCodeNeedsTwoFactor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, "ada@example.com", goodPassword)
	secret, _ := enrol(t, e, u)
	flow, c := flowCode(t, e, "ada@example.com")
	if _, _, err := e.svc.CompleteLink(ctx, account.ByCode(flow, c), "taken over by the mailbox", "", meta); code(err) != airlock.CodeTwoFactorRequired {
		t.Fatalf("without the app's code: %v", err)
	}
	if _, _, err := e.svc.CompleteLink(ctx, account.ByCode(flow, c), "taken over by the mailbox", "000000", meta); code(err) != airlock.CodeUnauthorized {
		t.Fatalf("with a wrong app code: %v", err)
	}
	if _, _, err := e.svc.VerifyLinkCode(ctx, account.ByCode(flow, c), codeAt(secret, e.clock.Now()), meta); err != nil {
		t.Fatal(err)
	}
	if given, err := e.svc.LinkCodeGiven(ctx, account.ByCode(flow, c)); err != nil || !given {
		t.Fatalf("code step not recorded: %v %v", given, err)
	}
	if _, _, err := e.svc.CompleteLink(ctx, account.ByCode(flow, c), "after the code step", "", meta); err != nil {
		t.Fatal(err)
	}
}

// TestFlowInvitationCarriesCode: a forgot request of an invited user sends
// the invitation again, and its code works with the request's flow, as
// does the code of the invitation the administrator sent.
func TestFlowInvitationCarriesCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "sam@example.com", FirstName: "Sam", Invite: true}, meta); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	invited := codeFrom(t, e.smtp.Wait(t, 1)[0])
	flow, again := flowCode(t, e, "sam@example.com")
	if again == invited {
		t.Fatal("two invitations with one code")
	}
	if _, purpose, err := e.svc.CheckLink(ctx, account.ByCode(flow, again), meta); err != nil || purpose != airlock.TokenPurposeInvite {
		t.Fatalf("the resent invitation's code: %v %v", purpose, err)
	}
	if _, purpose, err := e.svc.CompleteLink(ctx, account.ByCode(flow, invited), "my first field password", "", meta); err != nil || purpose != airlock.TokenPurposeInvite {
		t.Fatalf("the first invitation's code: %v %v", purpose, err)
	}
}
