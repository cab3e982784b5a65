package blobs_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/storage/blobs"
)

func TestContainerAddressesTheAccountsBlobEndpoint(t *testing.T) {
	accs, err := storage.ConnectAll([]string{
		"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;" +
			"BlobEndpoint=http://127.0.0.1:10010/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10011/devstoreaccount1;TableEndpoint=http://127.0.0.1:10012/devstoreaccount1;",
		"https://prismdata3.blob.core.windows.net/",
	}, "")
	require.NoError(t, err)
	c, err := blobs.Container(accs[0], "prism-ownership")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:10010/devstoreaccount1/prism-ownership", c.URL())
	c, err = blobs.Container(accs[1], "prism-ownership")
	require.NoError(t, err)
	assert.Equal(t, "https://prismdata3.blob.core.windows.net/prism-ownership", c.URL())
	_, err = blobs.Container(&storage.Account{}, "x")
	assert.Error(t, err)
}
