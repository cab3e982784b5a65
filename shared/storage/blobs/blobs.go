// Package blobs builds blob container clients for a storage.Account. It is
// apart from package storage because the blob SDK is large: only the
// binaries that use blobs (domain-service's shard ownership, prismctl shards)
// import it.
package blobs

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/prism-es/prism/shared/storage"
)

// Container returns a client of the named container of acc, with the kit's
// retries and request counting. It does no I/O.
func Container(acc *storage.Account, name string) (*container.Client, error) {
	a := acc.BlobAccess()
	opts := &container.ClientOptions{ClientOptions: storage.ClientOptions("blob")}
	switch {
	case a.ConnectionString != "":
		return container.NewClientFromConnectionString(a.ConnectionString, name, opts)
	case a.ServiceURL != "" && a.Credential != nil:
		return container.NewClient(a.ServiceURL+name, a.Credential, opts)
	}
	return nil, errors.New("storage account without blob access")
}
