package storage_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/storage"
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
