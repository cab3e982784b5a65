// Package storage connects to an Azure Storage account (or Azurite) and hands
// out the table and queue clients the rest of the kit uses. It is the only
// place that builds Azure SDK clients, so retries, timeouts and request
// counting are set once.
package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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

// Account holds the table and queue service clients of one storage account.
type Account struct {
	Tables *aztables.ServiceClient
	Queues *azqueue.ServiceClient
}

// Connect builds clients for the account in connString. It does no I/O.
func Connect(connString string) (*Account, error) {
	opts := clientOptions()
	tables, err := aztables.NewServiceClientFromConnectionString(connString, &aztables.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("table client: %w", err)
	}
	queues, err := azqueue.NewServiceClientFromConnectionString(connString, &azqueue.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("queue client: %w", err)
	}
	return &Account{Tables: tables, Queues: queues}, nil
}

// clientOptions keeps retries short so a storage outage becomes a quick 503
// (or a retried message) rather than a minute-long hang, and counts requests.
func clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Retry: policy.RetryOptions{
			MaxRetries:    2,
			TryTimeout:    10 * time.Second,
			RetryDelay:    100 * time.Millisecond,
			MaxRetryDelay: time.Second,
		},
		PerRetryPolicies: []policy.Policy{countingPolicy{}},
		Telemetry:        policy.TelemetryOptions{Disabled: true},
	}
}

// EnsureTables creates the named tables, ignoring those that exist.
func (a *Account) EnsureTables(ctx context.Context, names ...string) error {
	for _, n := range names {
		_, err := a.Tables.CreateTable(ctx, n, nil)
		if err != nil && !HasStatus(err, http.StatusConflict) && !notPermitted(ctx, err, "table "+n) {
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
			if err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) && !HasStatus(err, http.StatusConflict) && !notPermitted(ctx, err, "queue "+q) {
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
	opts := clientOptions()
	tables, err := aztables.NewServiceClient(fmt.Sprintf("https://%s.table.core.windows.net/", accountName), cred, &aztables.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("table client: %w", err)
	}
	queues, err := azqueue.NewServiceClient(fmt.Sprintf("https://%s.queue.core.windows.net/", accountName), cred, &azqueue.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("queue client: %w", err)
	}
	return &Account{Tables: tables, Queues: queues}, nil
}
