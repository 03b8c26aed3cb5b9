// Package client is a Go client of Airlock's JSON API v1. It does what the
// mobile app does: list the server directory, sign in, refresh, ask for and
// complete a password reset, read and change the signed-in user; and the
// administrators' calls.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one Airlock server.
type Client struct {
	BaseURL string // for example https://eu.accounts.example.com
	HTTP    *http.Client
}

// New returns a client of the server at baseURL.
func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Error is an error answer of the API.
type Error struct {
	Status     int
	Code       string   `json:"code"`
	Message    string   `json:"message"`
	Field      string   `json:"field"`
	Reasons    []string `json:"reasons"`
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("airlock: %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrorCode returns the API error code of err, or "".
func ErrorCode(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Code
	}
	return ""
}

// Server is an entry of the server directory.
type Server struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// URL is where the JSON API of the server is (URL + "/api/v1/…").
	URL string `json:"url"`
	// Issuer is the server's OpenID issuer: an app that signs in through
	// the browser reads Issuer + "/.well-known/openid-configuration", and
	// accepts an authorization response only if its iss is Issuer.
	Issuer string `json:"issuer"`
}

// DiscoveryURL is where the server's OpenID Provider describes itself.
func (s Server) DiscoveryURL() string { return s.Issuer + "/.well-known/openid-configuration" }

// Tokens are what signing in or refreshing answers.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// User is a user as the API shows it.
type User struct {
	ID                 string    `json:"id"`
	Email              string    `json:"email"`
	FirstName          string    `json:"first_name"`
	LastName           string    `json:"last_name"`
	Language           string    `json:"language"`
	Active             bool      `json:"active"`
	Groups             []string  `json:"groups"`
	MustChangePassword bool      `json:"must_change_password"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	// Invitation is "invited" or "invitation_expired" for a user who was
	// invited and has not chosen a password yet.
	Invitation string     `json:"invitation,omitempty"`
	InvitedAt  *time.Time `json:"invited_at,omitempty"`
	// TwoFactor says whether the user signs in in two steps.
	TwoFactor bool `json:"two_factor"`
	// Passkeys is how many passkeys the user has.
	Passkeys int `json:"passkeys"`
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path, access string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 400 {
		var eb struct {
			Error Error `json:"error"`
		}
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			return &Error{Status: res.StatusCode, Code: "http_error", Message: strings.TrimSpace(string(data))}
		}
		e := eb.Error
		e.Status = res.StatusCode
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return &e
	}
	if out != nil && res.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("airlock: decode %s %s answer: %w", method, path, err)
		}
	}
	return nil
}

// Servers returns the server directory.
func (c *Client) Servers(ctx context.Context) ([]Server, error) {
	var out struct {
		Servers []Server `json:"servers"`
	}
	err := c.do(ctx, "GET", "/api/v1/servers", "", nil, &out)
	return out.Servers, err
}

// SignIn is the password grant.
func (c *Client) SignIn(ctx context.Context, email, password string) (*Tokens, error) {
	var t Tokens
	err := c.do(ctx, "POST", "/api/v1/auth/token", "", map[string]string{"grant_type": "password", "username": email, "password": password}, &t)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Refresh trades a refresh token for new tokens; the old one stops working.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	var t Tokens
	err := c.do(ctx, "POST", "/api/v1/auth/token", "", map[string]string{"grant_type": "refresh_token", "refresh_token": refreshToken}, &t)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Revoke revokes an access or refresh token (signing out).
func (c *Client) Revoke(ctx context.Context, token string) error {
	return c.do(ctx, "POST", "/api/v1/auth/revoke", "", map[string]string{"token": token}, nil)
}

// Forgot asks for a reset email and returns the request's flow id; the
// answer is the same for any address. The flow and the code from the email
// set the new password in the app (ResetByCode), without the link.
func (c *Client) Forgot(ctx context.Context, email string) (string, error) {
	var out struct {
		Flow string `json:"flow"`
	}
	if err := c.do(ctx, "POST", "/api/v1/password/forgot", "", map[string]string{"email": email}, &out); err != nil {
		return "", err
	}
	return out.Flow, nil
}

// ResetByCode sets a new password with the flow id Forgot returned and the
// code from the email (8 letters; case, spaces and hyphens do not matter);
// otp is the authenticator app's code or a recovery code for an account
// with two-step sign-in, else "". A wrong code is the error code
// "invalid_grant" with Field "code"; a flow ended by five wrong codes has
// Field "flow" (ask for a new email).
func (c *Client) ResetByCode(ctx context.Context, flow, code, password, otp string) error {
	body := map[string]string{"flow": flow, "code": code, "password": password}
	if otp != "" {
		body["otp"] = otp
	}
	return c.do(ctx, "POST", "/api/v1/password/reset", "", body, nil)
}

// Reset sets a new password with the token of a reset email.
func (c *Client) Reset(ctx context.Context, token, password string) error {
	return c.do(ctx, "POST", "/api/v1/password/reset", "", map[string]string{"token": token, "password": password}, nil)
}

// ResetWithCode sets a new password with a reset link and, for an account
// with two-step sign-in, a code from the authenticator app or a recovery
// code (otp).
func (c *Client) ResetWithCode(ctx context.Context, token, password, otp string) error {
	return c.do(ctx, "POST", "/api/v1/password/reset", "", map[string]string{"token": token, "password": password, "otp": otp}, nil)
}

// SignInWithCode is SignIn for an account with two-step sign-in: otp is the
// code from the authenticator app, or a recovery code. Without it such an
// account gets the error code "two_factor_required".
func (c *Client) SignInWithCode(ctx context.Context, email, password, otp string) (*Tokens, error) {
	var t Tokens
	err := c.do(ctx, "POST", "/api/v1/auth/token", "", map[string]string{"grant_type": "password", "username": email, "password": password, "otp": otp}, &t)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// ResetTwoFactor turns a user's two-step sign-in off (administrators).
func (c *Client) ResetTwoFactor(ctx context.Context, access, id string) error {
	return c.do(ctx, "POST", "/api/v1/users/"+url.PathEscape(id)+"/two-factor/reset", access, nil, nil)
}

// RemovePasskeys removes every passkey of a user (administrators).
func (c *Client) RemovePasskeys(ctx context.Context, access, id string) error {
	return c.do(ctx, "POST", "/api/v1/users/"+url.PathEscape(id)+"/passkeys/remove", access, nil, nil)
}

// Me returns the signed-in user.
func (c *Client) Me(ctx context.Context, access string) (*User, error) {
	var u User
	if err := c.do(ctx, "GET", "/api/v1/me", access, nil, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// ChangePassword changes the signed-in user's password; current may be
// empty when the password is temporary. Every token then stops working.
func (c *Client) ChangePassword(ctx context.Context, access, current, password string) error {
	body := map[string]string{"password": password}
	if current != "" {
		body["current_password"] = current
	}
	return c.do(ctx, "POST", "/api/v1/me/password", access, body, nil)
}

// ChangePasswordWithCode is ChangePassword for an account with a second
// step: otp is a code from the authenticator app, or a recovery code.
// Without it such an account gets the error code "two_factor_required".
func (c *Client) ChangePasswordWithCode(ctx context.Context, access, current, password, otp string) error {
	return c.do(ctx, "POST", "/api/v1/me/password", access, map[string]string{"current_password": current, "password": password, "otp": otp}, nil)
}

// ListUsers lists users (administrators).
func (c *Client) ListUsers(ctx context.Context, access, q string, page, perPage int) ([]User, int, error) {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if page > 0 {
		v.Set("page", strconv.Itoa(page))
	}
	if perPage > 0 {
		v.Set("per_page", strconv.Itoa(perPage))
	}
	var out struct {
		Users []User `json:"users"`
		Total int    `json:"total"`
	}
	path := "/api/v1/users"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	err := c.do(ctx, "GET", path, access, nil, &out)
	return out.Users, out.Total, err
}

// NewUser is what CreateUser takes.
type NewUser struct {
	Email     string   `json:"email"`
	FirstName string   `json:"first_name,omitempty"`
	LastName  string   `json:"last_name,omitempty"`
	Language  string   `json:"language,omitempty"`
	Groups    []string `json:"groups,omitempty"`
	Password  string   `json:"password,omitempty"`
	Temporary *bool    `json:"temporary,omitempty"`
	// Invite sends a welcome email to choose a first password.
	Invite bool `json:"invite,omitempty"`
}

// CreateUser creates a user (administrators).
func (c *Client) CreateUser(ctx context.Context, access string, n NewUser) (*User, error) {
	var u User
	if err := c.do(ctx, "POST", "/api/v1/users", access, n, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// GetUser reads a user (administrators).
func (c *Client) GetUser(ctx context.Context, access, id string) (*User, error) {
	var u User
	if err := c.do(ctx, "GET", "/api/v1/users/"+url.PathEscape(id), access, nil, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// UpdateUser changes the named fields of a user (administrators).
func (c *Client) UpdateUser(ctx context.Context, access, id string, fields map[string]any) (*User, error) {
	var u User
	if err := c.do(ctx, "PATCH", "/api/v1/users/"+url.PathEscape(id), access, fields, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// SetUserPassword sets a user's password (administrators); temporary
// unless said otherwise.
func (c *Client) SetUserPassword(ctx context.Context, access, id, password string, temporary bool) error {
	return c.do(ctx, "POST", "/api/v1/users/"+url.PathEscape(id)+"/password", access,
		map[string]any{"password": password, "temporary": temporary}, nil)
}

// SendResetEmail emails a user a reset link (administrators).
func (c *Client) SendResetEmail(ctx context.Context, access, id string) error {
	return c.do(ctx, "POST", "/api/v1/users/"+url.PathEscape(id)+"/reset-email", access, nil, nil)
}

// Invite (re)sends an invitation to a user who has never set a password
// (administrators); the previous unexpired link keeps working until one of them is used.
func (c *Client) Invite(ctx context.Context, access, id string) error {
	return c.do(ctx, "POST", "/api/v1/users/"+url.PathEscape(id)+"/invite", access, nil, nil)
}

// Email is one email of a user's outbox or its history.
type Email struct {
	ID            int64      `json:"id"`
	Kind          string     `json:"kind"`
	State         string     `json:"state"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	Problem       string     `json:"problem,omitempty"`
	ServerReply   string     `json:"server_reply,omitempty"`
	MessageID     string     `json:"message_id,omitempty"`
}

// UserEmails lists a user's last emails and their delivery state
// (administrators); state, when not empty, keeps only emails in that state.
func (c *Client) UserEmails(ctx context.Context, access, id, state string) ([]Email, error) {
	path := "/api/v1/users/" + url.PathEscape(id) + "/emails"
	if state != "" {
		path += "?state=" + url.QueryEscape(state)
	}
	var out struct {
		Emails []Email `json:"emails"`
	}
	if err := c.do(ctx, "GET", path, access, nil, &out); err != nil {
		return nil, err
	}
	return out.Emails, nil
}
