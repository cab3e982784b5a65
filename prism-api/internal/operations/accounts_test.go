package operations

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	e, err := testenv.StartAccounts(2)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(2)
	}
	env = e
	code := m.Run()
	e.Stop()
	os.Exit(code)
}

// With two storage accounts, a command shard's queue lives in the second:
// the console lists its parked messages and redrives them there, as it
// does the primary's.
func TestTheConsoleSeesAndRedrivesQueuesOfEveryAccount(t *testing.T) {
	ctx := context.Background()
	accs, err := storage.ConnectAll(env.Accounts, "")
	require.NoError(t, err)
	name := fmt.Sprintf("commands-%d", time.Now().UnixNano()%1000000)
	require.NoError(t, accs[1].EnsureQueues(ctx, name))
	q := queue.Open(accs[1], name, nil)
	require.NoError(t, q.Send(ctx, []byte(`{"parked":true}`)))
	msgs, err := q.Receive(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.NoError(t, q.MoveToPoison(ctx, msgs[0], "bad"))

	svc := &Service{Account: accs[0], Accounts: accs}
	r := mux.NewRouter()
	svc.Mount(r)
	call := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader("")))
		return w
	}

	w := call(http.MethodGet, "/console/poison")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var got struct {
		Queues []PoisonQueue `json:"queues"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	var shard *PoisonQueue
	for i := range got.Queues {
		if got.Queues[i].Queue == name {
			shard = &got.Queues[i]
		}
	}
	require.NotNil(t, shard, "the second account's queue is listed")
	assert.Equal(t, 1, shard.Poison)
	require.Len(t, shard.Messages, 1)
	assert.Equal(t, "bad", shard.Messages[0].Record.Reason)

	w = call(http.MethodPost, "/console/poison/"+name+"/redrive")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"moved":1`)
	back, err := q.Receive(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, back, 1)
	assert.JSONEq(t, `{"parked":true}`, string(back[0].Body))

	assert.Equal(t, http.StatusNotFound, call(http.MethodPost, "/console/poison/no-such-queue/redrive").Code)
}
