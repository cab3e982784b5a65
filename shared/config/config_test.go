package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/config"
)

func TestReaderCollectsEveryProblem(t *testing.T) {
	r := config.FromMap(map[string]string{"A": "x", "B": "soon", "C": "maybe", "L": " a, b ,,c "})
	assert.Equal(t, 7, r.Int("A", 7))
	assert.Equal(t, time.Second, r.Duration("B", time.Second))
	assert.True(t, r.Bool("C", true))
	assert.Equal(t, []string{"a", "b", "c"}, r.List("L", nil))
	assert.Equal(t, "def", r.String("MISSING", "def"))
	err := r.Err()
	assert.ErrorContains(t, err, "A=")
	assert.ErrorContains(t, err, "B=")
	assert.ErrorContains(t, err, "C=")
}

func TestLoadCommonDefaultsAndRefusals(t *testing.T) {
	r := config.FromMap(nil)
	c := config.LoadCommon(r, "svc", 8090)
	assert.NoError(t, r.Err())
	assert.Equal(t, "127.0.0.1:8090", c.HTTPAddr, "loopback unless told otherwise: the local stack hands out dev tokens")
	assert.Contains(t, c.StorageConnectionString, "127.0.0.1:10002")
	r = config.FromMap(map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"})
	config.LoadCommon(r, "svc", 1)
	assert.ErrorContains(t, r.Err(), "UseDevelopmentStorage")
}

func TestSubscriptions(t *testing.T) {
	rm := config.SubscriptionNamed("readmodel")
	assert.True(t, rm.Wants("cart", "ItemAdded"))
	assert.False(t, rm.Wants("checkout", "CheckoutStarted"))
	n := config.SubscriptionNamed("notifications")
	assert.True(t, n.Wants("order", "OrderShipped"))
	assert.False(t, n.Wants("order", "OrderPlaced"))
	assert.True(t, config.SubscriptionNamed("audit").Wants("checkout", "Anything"), "an undeclared subscriber gets everything")
	assert.Equal(t, []string{"readmodel", "saga", "notifications"}, config.Subscribers)
}

func TestStorageAuth(t *testing.T) {
	r := config.FromMap(map[string]string{"PRISM_STORAGE_AUTH": "identity", "AZURE_STORAGE_ACCOUNT_NAME": "prismdev"})
	c := config.LoadCommon(r, "svc", 1)
	assert.NoError(t, r.Err())
	assert.Equal(t, config.StorageAuthIdentity, c.StorageAuth)
	assert.Equal(t, "prismdev", c.StorageAccountName)
	acc, err := c.ConnectStorage()
	require.NoError(t, err)
	require.Len(t, acc, 1)
	assert.Equal(t, "https://prismdev.queue.core.windows.net/", acc.Primary().Queues.URL(), "identity auth addresses the named account")
	local, err := config.LoadCommon(config.FromMap(nil), "svc", 1).ConnectStorage()
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:10001/devstoreaccount1", strings.TrimSuffix(local.Primary().Queues.URL(), "/"), "the default is the local Azurite account")
	_, err = config.LoadCommon(config.FromMap(map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "AccountName=x"}), "svc", 1).ConnectStorage()
	assert.ErrorContains(t, err, "AZURE_STORAGE_CONNECTION_STRING")
	r = config.FromMap(map[string]string{"PRISM_STORAGE_AUTH": "identity"})
	config.LoadCommon(r, "svc", 1)
	assert.ErrorContains(t, r.Err(), "AZURE_STORAGE_ACCOUNT_NAME")
	r = config.FromMap(map[string]string{"PRISM_STORAGE_AUTH": "sas"})
	config.LoadCommon(r, "svc", 1)
	assert.ErrorContains(t, r.Err(), "PRISM_STORAGE_AUTH")
	assert.Equal(t, config.StorageAuthConnectionString, config.LoadCommon(config.FromMap(nil), "svc", 1).StorageAuth)
}

func TestCommandShardsAndAccounts(t *testing.T) {
	c := config.LoadCommon(config.FromMap(nil), "svc", 1)
	assert.Equal(t, config.DefaultCommandShards, c.CommandShards)
	assert.Empty(t, c.StorageAccounts)

	two := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:10011/devstoreaccount1;TableEndpoint=http://127.0.0.1:10012/devstoreaccount1;BlobEndpoint=http://127.0.0.1:10010/devstoreaccount1;"
	r := config.FromMap(map[string]string{"PRISM_STORAGE_ACCOUNTS": "prismdataa, " + two, "PRISM_COMMAND_SHARDS": "8"})
	c = config.LoadCommon(r, "svc", 1)
	require.NoError(t, r.Err())
	accs, err := c.ConnectStorage()
	require.NoError(t, err)
	require.Len(t, accs, 2, "the accounts replace AZURE_STORAGE_CONNECTION_STRING")
	assert.Equal(t, "https://prismdataa.queue.core.windows.net/", accs.Primary().Queues.URL())
	assert.Equal(t, "127.0.0.1:10011/devstoreaccount1", accs[1].Name())

	for env, want := range map[string]string{"0": "use 1 to", "1025": "use 1 to", "many": "not an integer", "7": "not a multiple of the 2 storage accounts"} {
		r := config.FromMap(map[string]string{"PRISM_STORAGE_ACCOUNTS": "prismdataa,prismdatab", "PRISM_COMMAND_SHARDS": env})
		config.LoadCommon(r, "svc", 1)
		assert.ErrorContains(t, r.Err(), want, "PRISM_COMMAND_SHARDS=%s", env)
	}
	_, err = config.LoadCommon(config.FromMap(map[string]string{"PRISM_STORAGE_ACCOUNTS": "Not An Account"}), "svc", 1).ConnectStorage()
	assert.ErrorContains(t, err, "PRISM_STORAGE_ACCOUNTS")
}
