package storage

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/prism-es/prism/shared/shard"
)

// Accounts are the storage accounts a deployment spreads its streams over
// (PRISM_STORAGE_ACCOUNTS, DESIGN.md "Accounts"). A stream's events and
// snapshots live in account shard.Of(stream, len(accounts)); command shard k
// lives in account k mod len(accounts), which is the account of its streams
// when the shard count is a multiple of the account count. The first account
// is the primary: read models, subscriber queues, delayed commands and shard
// ownership live there.
type Accounts []*Account

// Spread is what the stream stores are built on: one *Account, or Accounts.
type Spread interface {
	// Spread returns the accounts, the primary first.
	Spread() Accounts
}

var (
	_ Spread = (*Account)(nil)
	_ Spread = Accounts(nil)
)

// Spread returns the one account.
func (a *Account) Spread() Accounts { return Accounts{a} }

// Spread returns the accounts.
func (a Accounts) Spread() Accounts { return a }

// Primary is the first account.
func (a Accounts) Primary() *Account { return a[0] }

// IndexOf is the index of the account holding stream.
func (a Accounts) IndexOf(stream string) int { return shard.Of(stream, len(a)) }

// ForStream is the account holding stream's events and snapshots.
func (a Accounts) ForStream(stream string) *Account { return a[a.IndexOf(stream)] }

// ForShard is the account holding command shard k.
func (a Accounts) ForShard(k int) *Account { return a[k%len(a)] }

// ConnectAll builds clients for every entry of PRISM_STORAGE_ACCOUNTS, in
// order. An entry is a connection string (key auth: it holds "="), an account
// URL such as https://prismdata2.blob.core.windows.net/ or a bare account
// name (both Microsoft Entra ID: the managed identity clientID names, or
// DefaultAzureCredential). It does no I/O.
func ConnectAll(entries []string, clientID string) (Accounts, error) {
	if len(entries) == 0 {
		return nil, errors.New("no storage account given")
	}
	var cred azcore.TokenCredential
	out := make(Accounts, 0, len(entries))
	for i, e := range entries {
		var acc *Account
		var err error
		if strings.Contains(e, "=") {
			acc, err = Connect(e)
		} else {
			var name, suffix string
			if name, suffix, err = parseAccountURL(e); err == nil && cred == nil {
				cred, err = identityCredential(clientID)
			}
			if err == nil {
				acc, err = connectWithCredential(name, suffix, cred)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("storage account %d of %d: %w", i+1, len(entries), err)
		}
		out = append(out, acc)
	}
	return out, nil
}

// parseAccountURL reads an account name and endpoint suffix from
// https://<name>.<service>.<suffix>[/] or a bare account name.
func parseAccountURL(s string) (name, suffix string, err error) {
	if !strings.Contains(s, "://") {
		if !validAccountName(s) {
			return "", "", fmt.Errorf("%q is neither a connection string, an account URL nor an account name (3-24 lowercase letters and digits)", s)
		}
		return s, defaultEndpointSuffix, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" {
		return "", "", fmt.Errorf("%q is not an https account URL", s)
	}
	labels := strings.SplitN(u.Hostname(), ".", 3)
	if len(labels) < 3 || !validAccountName(labels[0]) {
		return "", "", fmt.Errorf("%q is not an account URL (https://<account>.<blob|queue|table>.core.windows.net/)", s)
	}
	switch labels[1] {
	case "blob", "queue", "table", "dfs", "file":
	default:
		return "", "", fmt.Errorf("%q is not an account URL (https://<account>.<blob|queue|table>.core.windows.net/)", s)
	}
	return labels[0], labels[2], nil
}

// validAccountName: 3-24 lowercase letters and digits.
func validAccountName(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
