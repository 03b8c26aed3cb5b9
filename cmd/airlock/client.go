package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/peer"
	"github.com/airlockhq/airlock/provider"
)

const clientUsage = `usage: airlock client COMMAND [FLAGS]

The applications that sign people in through Airlock (OpenID Connect).

Commands:
  add             add an application
  list            list the applications
  remove          remove an application (its sign-ins end)
  rotate-secret   give a confidential application a new secret
  set-grants      set the grant types an application may use

Run "airlock client COMMAND --help" for a command's flags.
`

func clientCommand(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	sub, err := group{"client", clientUsage}.choose(args, stdout, stderr, "add", "list", "remove", "rotate-secret", "set-grants")
	if err != nil {
		return err
	}
	var (
		c                           *command
		name, id, alg               *string
		public, confidential, first *bool
		redirects, logouts, grants  stringList
	)
	switch sub {
	case "add":
		c = newCommand("client add", `--name NAME (--public | --confidential) --redirect-uri URI ...
                         [--post-logout-uri URI ...] [--grant GRANT ...] [--first-party] [--signing-alg RS256|ES256]`, `
Add an application. A public one (a mobile or single-page app) has no secret
and must use PKCE; a confidential one (a server) gets a secret, printed once:
keep it, it is stored hashed. Redirect URIs are matched exactly: https, http on
a loopback address (any port, for native apps), or a private-use scheme in
reverse-domain form (com.example.fieldapp:/oauth2redirect). The people of a
first-party application (the operator's own) are not asked to consent.`)
		name = c.flags.String("name", "", "`NAME` the application's name, shown to people (required)")
		public = c.flags.Bool("public", false, "a public client: no secret, PKCE required")
		confidential = c.flags.Bool("confidential", false, "a confidential client: gets a secret")
		first = c.flags.Bool("first-party", false, "the operator's own application: no consent page")
		alg = c.flags.String("signing-alg", "RS256", "`ALG` how its ID and access tokens are signed: RS256 or ES256")
		c.flags.Var(&redirects, "redirect-uri", "`URI` a redirect URI, repeatable")
		c.flags.Var(&logouts, "post-logout-uri", "`URI` where RP-initiated logout may return, repeatable")
		c.flags.Var(&grants, "grant", "`GRANT` a grant type, repeatable: authorization_code, refresh_token, client_credentials, password (default authorization_code and refresh_token)")
	case "list":
		c = newCommand("client list", "", "List the applications.")
	case "set-grants":
		c = newCommand("client set-grants", "--id ID --grant GRANT ...", `
Set the grant types an application may use. The built-in application "mobile"
stands for the app versions that sign in with the password grant (deprecated):
  airlock client set-grants --id mobile --grant refresh_token
turns the password grant off for them, and keeps their sign-ins refreshing.`)
		id = c.flags.String("id", "", "`ID` the application's client_id (required)")
		c.flags.Var(&grants, "grant", "`GRANT` a grant type, repeatable: authorization_code, refresh_token, client_credentials, password")
	case "remove", "rotate-secret":
		about := "Remove an application: its pending requests and every sign-in it holds end."
		if sub == "rotate-secret" {
			about = "Give a confidential application a new secret, printed once; the old one stops working at once."
		}
		c = newCommand("client "+sub, "--id ID", about)
		id = c.flags.String("id", "", "`ID` the application's client_id (required)")
	}
	if err := c.parse(args[1:], stdout, stderr); err != nil {
		return err
	}
	if err := c.noArgs(stderr); err != nil {
		return err
	}
	switch {
	case sub == "add" && *public == *confidential:
		return &usageError{"client add: give one of --public or --confidential"}
	case sub == "add" && *name == "":
		return &usageError{"client add: --name is required"}
	case id != nil && *id == "":
		return &usageError{fmt.Sprintf("client %s: --id is required", sub)}
	}
	_, a, err := openCLI(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	m := account.Meta{IP: "cli", UserAgent: "airlock client " + sub}
	switch sub {
	case "add":
		cl, secret, err := a.accounts.AddClient(ctx, account.Operator, account.ClientSpec{Name: *name, Public: *public,
			RedirectURIs: redirects, PostLogoutURIs: logouts, Grants: grants, FirstParty: *first, SigningAlg: *alg}, m)
		if err != nil {
			return a.cliError(err)
		}
		fmt.Fprintf(stdout, "client_id: %s\n", cl.ID)
		if secret != "" {
			fmt.Fprintf(stdout, "client_secret: %s\n(shown once: it is stored hashed)\n", secret)
		}
		return nil
	case "list":
		cs, err := a.accounts.Clients(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tTYPE\tFIRST_PARTY\tGRANTS\tREDIRECT_URIS")
		for _, cl := range cs {
			kind := "confidential"
			if cl.Public() {
				kind = "public"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", cl.ID, terminalText(cl.Name), kind, cl.FirstParty,
				strings.Join(cl.Grants, ","), terminalText(strings.Join(cl.RedirectURIs, " ")))
		}
		return tw.Flush()
	case "set-grants":
		if err := a.accounts.SetClientGrants(ctx, account.Operator, *id, grants, m); err != nil {
			return a.cliError(err)
		}
		fmt.Fprintln(stdout, "grants set")
		return nil
	case "remove":
		if err := a.accounts.RemoveClient(ctx, account.Operator, *id, m); err != nil {
			return a.cliError(err)
		}
		fmt.Fprintln(stdout, "application removed")
		return nil
	default:
		secret, err := a.accounts.RotateClientSecret(ctx, account.Operator, *id, m)
		if err != nil {
			return a.cliError(err)
		}
		fmt.Fprintf(stdout, "client_secret: %s\n(shown once: it is stored hashed; the old secret no longer works)\n", secret)
		return nil
	}
}

const keysUsage = `usage: airlock keys COMMAND

The OpenID Provider's token signing keys.

Commands:
  rotate   publish a new signing key; it signs once every relying party has it
`

func keysCommand(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	if _, err := (group{"keys", keysUsage}).choose(args, stdout, stderr, "rotate"); err != nil {
		return err
	}
	c := newCommand("keys rotate", "", `
Publish a new signing key now. It starts signing after relying parties that
cache the key set have fetched it (`+provider.PublishLead.String()+`); the old key stops signing
then, and stays published until the tokens it signed have expired.`)
	if err := c.parse(args[1:], stdout, stderr); err != nil {
		return err
	}
	if err := c.noArgs(stderr); err != nil {
		return err
	}
	_, a, err := openCLI(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if a.box == nil {
		return fmt.Errorf("keys rotate: AIRLOCK_SECRET_KEY is not set: the signing keys are sealed with it")
	}
	keys := provider.NewKeys(a.db, a.box, airlock.SystemClock{})
	if err := keys.Ensure(ctx); err != nil {
		return err
	}
	from, err := keys.Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key published; it signs from %s\n", from.UTC().Format(time.RFC3339))
	return nil
}

const peerUsage = `usage: airlock peer COMMAND

The servers of the directory that help each other with a reset asked on the
wrong server (AIRLOCK_PEERS).

Commands:
  key   print this server's public key, for its peers' AIRLOCK_PEERS
`

func peerCommand(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	if _, err := (group{"peer", peerUsage}).choose(args, stdout, stderr, "key"); err != nil {
		return err
	}
	c := newCommand("peer key", "", `
Print this server's public key, made from AIRLOCK_SECRET_KEY (every node of
a server shares it). Give it to each peer, as URL=KEY in its AIRLOCK_PEERS:
  AIRLOCK_PEERS=https://eu.example.com=KEY,…`)
	if err := c.parse(args[1:], stdout, stderr); err != nil {
		return err
	}
	if err := c.noArgs(stderr); err != nil {
		return err
	}
	cfg, err := e.load(nil)
	if err != nil {
		return err
	}
	box, err := secretBox(cfg, false, func(string) {})
	if err != nil {
		return err
	}
	if box == nil {
		return fmt.Errorf("peer key: AIRLOCK_SECRET_KEY is not set: the key is made from it")
	}
	fmt.Fprintf(stdout, "%s=%s\n", peer.Canonical(cfg.PublicURL.String()), peer.PublicKey(peer.KeyFrom(box)))
	return nil
}
