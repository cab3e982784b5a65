package storage

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// NotPermitted reports whether err is Azure refusing an operation the
// caller's identity has no role for (403 AuthorizationPermissionMismatch or
// AuthorizationFailure), logging it. With least privilege (infra/) an app
// may not create the tables and queues it uses: the deployment creates
// them, so creating is skipped. A wrong key (403 AuthenticationFailed) is
// not this, and still fails.
func NotPermitted(ctx context.Context, err error, what string) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		return false
	}
	switch re.ErrorCode {
	case "AuthorizationPermissionMismatch", "AuthorizationFailure":
		slog.InfoContext(ctx, "not permitted to create; the deployment is expected to have created it", "what", what, "code", re.ErrorCode)
		return true
	}
	return false
}

// PingQueues checks that each named queue answers (its properties): what
// an identity allowed on those queues only can do, where listing every
// queue of the account would need a role on all of them.
func (a *Account) PingQueues(ctx context.Context, names ...string) error {
	for _, n := range names {
		if _, err := a.Queues.NewQueueClient(n).GetProperties(ctx, nil); err != nil {
			return Classify(err, "queue "+n)
		}
	}
	return nil
}

// PingTables checks that the table service answers (listing one table).
func (a *Account) PingTables(ctx context.Context) error {
	pager := a.Tables.NewListTablesPager(&aztables.ListTablesOptions{Top: ptr(int32(1))})
	if _, err := pager.NextPage(ctx); err != nil {
		return Classify(err, "table service")
	}
	return nil
}
