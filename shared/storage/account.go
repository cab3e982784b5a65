// Package storage connects to Azure Storage accounts (or Azurite) and hands
// out the table and queue clients the rest of the kit uses (blob clients
// come from storage/blobs). It is the
// only place that builds Azure SDK clients, so retries, timeouts and request
// counting are set once. A deployment may spread its streams over several
// accounts (Accounts); the first is the primary.
package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"github.com/prism-es/prism/shared/apperr"
)

// Azurite's well-known development account: a name and key every copy of
// Azurite accepts and no real storage account has.
const (
	AzuriteAccountName = "devstoreaccount1"
	AzuriteAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzuriteConnectionString is Azurite's well-known development account on its
// default ports. The Go SDK does not understand "UseDevelopmentStorage=true".
const AzuriteConnectionString = "DefaultEndpointsProtocol=http;AccountName=" + AzuriteAccountName + ";" +
	"AccountKey=" + AzuriteAccountKey + ";" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;" +
	"QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
	"TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

// Account holds the table and queue service clients of one storage
// account, and what package storage/blobs needs to reach its blobs (kept
// apart so that only the binaries that use blobs link the blob SDK).
type Account struct {
	Tables *aztables.ServiceClient
	Queues *azqueue.ServiceClient

	blobs BlobAccess
}

// BlobAccess is how to reach an account's blob service: a connection
// string (key auth), or a service URL and an Entra ID credential. Only
// package storage/blobs uses it.
type BlobAccess struct {
	ConnectionString string
	ServiceURL       string
	Credential       azcore.TokenCredential
}

// BlobAccess returns how to reach the account's blob service.
func (a *Account) BlobAccess() BlobAccess { return a.blobs }

// Connect builds clients for the account in connString. It does no I/O.
func Connect(connString string) (*Account, error) {
	tables, err := aztables.NewServiceClientFromConnectionString(connString, &aztables.ClientOptions{ClientOptions: ClientOptions("table")})
	if err != nil {
		return nil, fmt.Errorf("table client: %w", err)
	}
	queues, err := azqueue.NewServiceClientFromConnectionString(connString, &azqueue.ClientOptions{ClientOptions: ClientOptions("queue")})
	if err != nil {
		return nil, fmt.Errorf("queue client: %w", err)
	}
	return &Account{Tables: tables, Queues: queues, blobs: BlobAccess{ConnectionString: connString}}, nil
}

// Name names the account in logs and listings: the account name on Azure,
// host, port and account on an emulator (two Azurites differ by port).
func (a *Account) Name() string {
	u, err := url.Parse(a.Queues.URL())
	if err != nil {
		return a.Queues.URL()
	}
	if name, _, ok := strings.Cut(u.Host, ".queue."); ok {
		return name
	}
	return u.Host + strings.TrimSuffix(u.Path, "/")
}

// ClientOptions keeps retries short so a storage outage becomes a quick 503
// (or a retried message) rather than a minute-long hang, and counts the
// requests of service (table, queue or blob). Every Azure Storage client of
// the kit is built with them.
func ClientOptions(service string) azcore.ClientOptions {
	return azcore.ClientOptions{
		Retry: policy.RetryOptions{
			MaxRetries:    2,
			TryTimeout:    10 * time.Second,
			RetryDelay:    100 * time.Millisecond,
			MaxRetryDelay: time.Second,
		},
		PerRetryPolicies: []policy.Policy{countingPolicy{service: service}},
		Telemetry:        policy.TelemetryOptions{Disabled: true},
	}
}

// EnsureTables creates the named tables, ignoring those that exist.
func (a *Account) EnsureTables(ctx context.Context, names ...string) error {
	for _, n := range names {
		_, err := a.Tables.CreateTable(ctx, n, nil)
		if err != nil && !HasStatus(err, http.StatusConflict) && !NotPermitted(ctx, err, "table "+n) {
			return Classify(err, "create table "+n)
		}
	}
	return nil
}

// EnsureQueues creates the named queues and their "-poison" twins.
func (a *Account) EnsureQueues(ctx context.Context, names ...string) error {
	for _, n := range names {
		for _, q := range []string{n, PoisonQueue(n)} {
			_, err := a.Queues.CreateQueue(ctx, q, nil)
			if err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) && !HasStatus(err, http.StatusConflict) && !NotPermitted(ctx, err, "queue "+q) {
				return Classify(err, "create queue "+q)
			}
		}
	}
	return nil
}

// PoisonQueue names the queue that holds the messages q gave up on.
func PoisonQueue(q string) string { return q + "-poison" }

// HasStatus reports whether err is a storage response with one of the codes.
func HasStatus(err error, codes ...int) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	for _, c := range codes {
		if re.StatusCode == c {
			return true
		}
	}
	return false
}

// Classify wraps a storage failure as apperr.Unavailable (transport errors,
// 408, 429, 5xx) or apperr.Internal (anything else), naming the operation.
func Classify(err error, op string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apperr.Wrap(apperr.Unavailable, err, "storage did not answer in time (%s)", op)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if re.StatusCode == http.StatusRequestTimeout || re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500 {
			return apperr.Wrap(apperr.Unavailable, err, "storage is unavailable (%s)", op)
		}
		return apperr.Wrap(apperr.Internal, err, "storage refused %s", op)
	}
	return apperr.Wrap(apperr.Unavailable, err, "storage is unreachable (%s)", op)
}

func ptr[T any](v T) *T { return &v }

// ConnectWithIdentity builds clients for the named Azure storage account that
// authenticate with Microsoft Entra ID: the user-assigned managed identity
// clientID names, or else DefaultAzureCredential (a system-assigned identity,
// or a developer's az login). It does no I/O.
func ConnectWithIdentity(accountName, clientID string) (*Account, error) {
	cred, err := identityCredential(clientID)
	if err != nil {
		return nil, err
	}
	return connectWithCredential(accountName, defaultEndpointSuffix, cred)
}

// identityCredential is the user-assigned managed identity clientID names,
// or DefaultAzureCredential when it is empty.
func identityCredential(clientID string) (azcore.TokenCredential, error) {
	var cred azcore.TokenCredential
	var err error
	if clientID != "" {
		cred, err = azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(clientID)})
	} else {
		cred, err = azidentity.NewDefaultAzureCredential(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("storage identity: %w", err)
	}
	return cred, nil
}

// defaultEndpointSuffix is Azure's public cloud storage suffix.
const defaultEndpointSuffix = "core.windows.net"

// connectWithCredential builds the clients of the account <name>.<service>.<suffix>.
func connectWithCredential(name, suffix string, cred azcore.TokenCredential) (*Account, error) {
	endpoint := func(service string) string { return fmt.Sprintf("https://%s.%s.%s/", name, service, suffix) }
	tables, err := aztables.NewServiceClient(endpoint("table"), cred, &aztables.ClientOptions{ClientOptions: ClientOptions("table")})
	if err != nil {
		return nil, fmt.Errorf("table client: %w", err)
	}
	queues, err := azqueue.NewServiceClient(endpoint("queue"), cred, &azqueue.ClientOptions{ClientOptions: ClientOptions("queue")})
	if err != nil {
		return nil, fmt.Errorf("queue client: %w", err)
	}
	return &Account{Tables: tables, Queues: queues, blobs: BlobAccess{ServiceURL: endpoint("blob"), Credential: cred}}, nil
}
