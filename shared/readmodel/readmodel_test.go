package readmodel_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func newStore(t *testing.T) (*readmodel.Store, *storage.Account, string) {
	t.Helper()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	name := testenv.TableName("rm")
	require.NoError(t, acc.EnsureTables(context.Background(), name, readmodel.CatalogTable))
	return readmodel.NewStore(acc), acc, name
}

func TestVersionedRowsWithETags(t *testing.T) {
	ctx := context.Background()
	s, _, table := newStore(t)
	_, ok, err := s.Get(ctx, table, "cart-1", "")
	require.NoError(t, err)
	assert.False(t, ok)

	stored, err := s.Put(ctx, table, readmodel.Row{PartitionKey: "cart-1", Version: 1, Doc: json.RawMessage(`{"v":1}`)})
	require.NoError(t, err)
	require.NotEmpty(t, stored.ETag, "Put returns the new ETag")
	_, err = s.Put(ctx, table, readmodel.Row{PartitionKey: "cart-1", Version: 1, Doc: json.RawMessage(`{"v":1}`)})
	assert.ErrorIs(t, err, readmodel.ErrPreconditionFailed, "insert of an existing row")

	row, ok, err := s.Get(ctx, table, "cart-1", "")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(1), row.Version)
	assert.JSONEq(t, `{"v":1}`, string(row.Doc))
	assert.Equal(t, stored.ETag, row.ETag)

	next := row
	next.Version, next.Doc = 2, json.RawMessage(`{"v":2}`)
	updated, err := s.Put(ctx, table, next)
	require.NoError(t, err)
	_, err = s.Put(ctx, table, next)
	assert.ErrorIs(t, err, readmodel.ErrPreconditionFailed, "the old ETag no longer matches")
	third := updated
	third.Version = 3
	_, err = s.Put(ctx, table, third)
	require.NoError(t, err, "the ETag Put returned is the current one")

	got, _, err := s.Get(ctx, table, "cart-1", "")
	require.NoError(t, err)
	assert.Equal(t, int64(3), got.Version)
	assert.WithinDuration(t, time.Now(), got.UpdatedAt, time.Minute)

	require.NoError(t, s.Delete(ctx, table, "cart-1", ""))
	require.NoError(t, s.Delete(ctx, table, "cart-1", ""), "deleting twice is fine")
}

func TestConcurrentWritersOneWinsPerETag(t *testing.T) {
	ctx := context.Background()
	s, _, table := newStore(t)
	_, err := s.Put(ctx, table, readmodel.Row{PartitionKey: "p", RowKey: "r", Version: 1, Doc: json.RawMessage(`{}`)})
	require.NoError(t, err)
	row, _, err := s.Get(ctx, table, "p", "r")
	require.NoError(t, err)
	var wins, lost int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := row
			r.Version, r.Doc = int64(10+i), json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
			_, err := s.Put(ctx, table, r)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				assert.ErrorIs(t, err, readmodel.ErrPreconditionFailed)
				lost++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, wins)
	assert.Equal(t, 7, lost)
}

func TestListPages(t *testing.T) {
	ctx := context.Background()
	s, _, table := newStore(t)
	for i := range 7 {
		require.NoError(t, s.Upsert(ctx, table, readmodel.Row{PartitionKey: "alice", RowKey: fmt.Sprintf("k%02d", i), Version: 1, Doc: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}))
	}
	require.NoError(t, s.Upsert(ctx, table, readmodel.Row{PartitionKey: "bob", RowKey: "k00", Version: 1, Doc: json.RawMessage(`{}`)}))
	var all []string
	cursor := ""
	pages := 0
	for {
		rows, next, err := s.List(ctx, table, "alice", 3, cursor)
		require.NoError(t, err)
		pages++
		for _, r := range rows {
			all = append(all, r.RowKey)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	assert.Equal(t, []string{"k00", "k01", "k02", "k03", "k04", "k05", "k06"}, all)
	assert.Equal(t, 3, pages)
	for name, bad := range map[string]string{
		"not base64":   "!!not-a-cursor!!",
		"too long":     base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("k", 30_000))),
		"control char": base64.RawURLEncoding.EncodeToString([]byte("k\x00")),
		"not utf-8":    base64.RawURLEncoding.EncodeToString([]byte{0xff, 0xfe}),
	} {
		_, _, err := s.List(ctx, table, "alice", 3, bad)
		assert.Equal(t, apperr.Invalid, apperr.KindOf(err), name)
		assert.Contains(t, fmt.Sprint(apperr.FieldsOf(err)), "cursor", name)
	}
	none, next, err := s.List(ctx, "nosuchtable"+testenv.TableName("x"), "alice", 3, "")
	require.NoError(t, err, "a table not created yet lists as empty")
	assert.Empty(t, none)
	assert.Empty(t, next)
}

func TestOversizeDocIsRefused(t *testing.T) {
	s, _, table := newStore(t)
	big := make([]byte, readmodel.MaxDocBytes+10)
	for i := range big {
		big[i] = 'x'
	}
	doc, _ := json.Marshal(map[string]string{"pad": string(big)})
	_, err := s.Put(context.Background(), table, readmodel.Row{PartitionKey: "p", Doc: doc})
	assert.Error(t, err)
}

func TestCatalogSwitchesTheLiveTable(t *testing.T) {
	ctx := context.Background()
	_, acc, _ := newStore(t)
	projection := testenv.TableName("proj")
	a := readmodel.NewCatalog(acc, time.Hour)
	b := readmodel.NewCatalog(acc, 50*time.Millisecond)
	live, err := a.Live(ctx, projection)
	require.NoError(t, err)
	assert.Equal(t, projection, live, "a projection's own name until switched")
	_, err = b.Live(ctx, projection)
	require.NoError(t, err)

	require.NoError(t, a.Switch(ctx, projection, projection+"v2"))
	live, _ = a.Live(ctx, projection)
	assert.Equal(t, projection+"v2", live, "the switcher sees it at once")
	require.Eventually(t, func() bool { l, _ := b.Live(ctx, projection); return l == projection+"v2" }, 5*time.Second, 10*time.Millisecond, "others within their TTL")
}
