package operations

import (
	"context"

	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
)

// accounts are the storage accounts whose queues the console shows: every
// account (a command shard lives in its own), or the primary alone.
func (s *Service) accounts() storage.Accounts {
	if len(s.Accounts) > 0 {
		return s.Accounts
	}
	return storage.Accounts{s.Account}
}

// queueStats is a queue's figures and the account that holds it.
type queueStats struct {
	queue.Stats
	account *storage.Account
}

// listQueues lists the queues of every account, the primary's first.
func (s *Service) listQueues(ctx context.Context) ([]queueStats, error) {
	var out []queueStats
	for _, acc := range s.accounts() {
		stats, err := queue.List(ctx, acc)
		if err != nil {
			return nil, err
		}
		for _, st := range stats {
			out = append(out, queueStats{Stats: st, account: acc})
		}
	}
	return out, nil
}

// queueNamed opens the named main queue in the first account that holds
// it or its poison twin (nil when none does).
func (s *Service) queueNamed(ctx context.Context, name string) (*queue.Queue, error) {
	for _, acc := range s.accounts() {
		q := queue.Peek(acc, name)
		_, err := q.PoisonDepth(ctx)
		switch {
		case err == nil:
			return q, nil
		case !queue.IsNotFound(err):
			return nil, err
		}
	}
	return nil, nil
}
