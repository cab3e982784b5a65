package storage_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/shard"
	"github.com/prism-es/prism/shared/storage"
)

// testenvKey is Azurite's well-known account key; testenvConn an Azurite
// account on its default ports (nothing is contacted).
const (
	testenvKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	testenvConn = storage.AzuriteConnectionString
)

func TestConnectWithIdentityAddressesTheAccount(t *testing.T) {
	acc, err := storage.ConnectWithIdentity("prismdev", "")
	require.NoError(t, err)
	assert.Equal(t, "https://prismdev.queue.core.windows.net/", acc.Queues.URL())
	assert.NotNil(t, acc.Tables)
	byID, err := storage.ConnectWithIdentity("prismdev", "00000000-0000-0000-0000-000000000001")
	require.NoError(t, err)
	assert.Equal(t, "https://prismdev.queue.core.windows.net/", byID.Queues.URL())
}

func TestConnectRefusesAGarbageConnectionString(t *testing.T) {
	_, err := storage.Connect("not a connection string")
	assert.Error(t, err)
}

func TestConnectAllTakesConnectionStringsURLsAndNames(t *testing.T) {
	accs, err := storage.ConnectAll([]string{
		"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + testenvKey + ";" +
			"BlobEndpoint=http://127.0.0.1:10010/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10011/devstoreaccount1;TableEndpoint=http://127.0.0.1:10012/devstoreaccount1;",
		"https://prismdata2.blob.core.windows.net/",
		"prismdata3",
		"https://prismgov.queue.core.usgovcloudapi.net",
	}, "")
	require.NoError(t, err)
	require.Len(t, accs, 4)
	assert.Equal(t, "127.0.0.1:10011/devstoreaccount1", accs[0].Name())
	assert.Contains(t, accs.Primary().BlobAccess().ConnectionString, "BlobEndpoint=http://127.0.0.1:10010/devstoreaccount1")
	assert.Equal(t, "https://prismdata2.queue.core.windows.net/", accs[1].Queues.URL())
	assert.Equal(t, "prismdata2", accs[1].Name())
	assert.Equal(t, "https://prismdata3.blob.core.windows.net/", accs[2].BlobAccess().ServiceURL)
	assert.Equal(t, "https://prismgov.queue.core.usgovcloudapi.net/", accs[3].Queues.URL())

	for _, bad := range []string{"Not_An_Account", "http://prismdata2.blob.core.windows.net/", "https://example.com/", "https://prism.web.core.windows.net/"} {
		_, err := storage.ConnectAll([]string{bad}, "")
		assert.Error(t, err, bad)
	}
	_, err = storage.ConnectAll(nil, "")
	assert.Error(t, err)
}

func TestAccountsPlaceStreamsAndShardsByTheSameHash(t *testing.T) {
	accs, err := storage.ConnectAll([]string{"prismdataa", "prismdatab"}, "")
	require.NoError(t, err)
	assert.Same(t, accs[0], accs.Primary())
	for _, stream := range []string{"cart-1", "cart-2", "product-SKU-9", "order-x"} {
		k := shard.Of(stream, 16)
		assert.Same(t, accs.ForShard(k), accs.ForStream(stream), "with 16 shards over 2 accounts, %s's shard queue and events share an account", stream)
	}
	one, err := storage.Connect(testenvConn)
	require.NoError(t, err)
	assert.Equal(t, storage.Accounts{one}, one.Spread())
}
