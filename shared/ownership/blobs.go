package ownership

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/prism-es/prism/shared/storage"
	storageblobs "github.com/prism-es/prism/shared/storage/blobs"
)

// State is what a resource's lease blob says.
type State string

// The states of a resource.
const (
	// Leased: someone holds the lease.
	Leased State = "leased"
	// Breaking: someone is breaking the lease (Prism never does; an
	// operator might); nobody may take it until the break ends.
	Breaking State = "breaking"
	// Free: the lease is available, expired or broken: anyone may take it.
	Free State = "free"
	// Missing: the blob does not exist yet (the first round creates it).
	Missing State = "missing"
)

// Claim is one resource's lease as the container shows it.
type Claim struct {
	Name string `json:"name"`
	// Owner is who last took the lease (meaningful while Leased).
	Owner string `json:"owner,omitempty"`
	State State  `json:"state"`
	// Since is when the blob last changed: when its owner took it.
	Since time.Time `json:"since,omitzero"`
}

// Replica is one replica's presence: it refreshes its blob every round.
type Replica struct {
	Owner    string    `json:"owner"`
	LastSeen time.Time `json:"lastSeen"`
}

// snapshot is one listing of the container.
type snapshot struct {
	claims   map[string]Claim
	replicas []Replica
}

// blobs is the lease container of one storage account.
type blobs struct {
	c    *container.Client
	name string
}

func newBlobs(acc *storage.Account, name string) (blobs, error) {
	c, err := storageblobs.Container(acc, name)
	return blobs{c: c, name: name}, err
}

// ensure creates the container and the blobs of names that are missing.
func (b blobs) ensure(ctx context.Context, names []string) error {
	// In Azure the deployment creates the container and the replicas' role is
	// on it alone, which may not extend to creating it.
	if _, err := b.c.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) && !storage.NotPermitted(ctx, err, "container "+b.name) {
		return storage.Classify(err, "create container "+b.name)
	}
	snap, err := b.list(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if snap.claims[n].State == Missing {
			if err := b.create(ctx, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// create makes an empty blob, leaving one that exists alone.
func (b blobs) create(ctx context.Context, name string) error {
	_, err := b.c.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	if err != nil && !bloberror.HasCode(err, bloberror.BlobAlreadyExists) && !storage.HasStatus(err, http.StatusConflict, http.StatusPreconditionFailed) {
		return storage.Classify(err, "create blob "+name)
	}
	return nil
}

// list reads every resource's claim and every replica's presence.
func (b blobs) list(ctx context.Context) (snapshot, error) {
	snap := snapshot{claims: map[string]Claim{}}
	pager := b.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return snapshot{}, storage.Classify(err, "list "+b.name)
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil || it.Properties == nil {
				continue
			}
			var modified time.Time
			if it.Properties.LastModified != nil {
				modified = *it.Properties.LastModified
			}
			if owner, ok := strings.CutPrefix(*it.Name, presencePrefix); ok {
				snap.replicas = append(snap.replicas, Replica{Owner: owner, LastSeen: modified})
				continue
			}
			c := Claim{Name: *it.Name, State: Free, Since: modified}
			if it.Properties.LeaseState != nil {
				switch *it.Properties.LeaseState {
				case lease.StateTypeLeased:
					c.State = Leased
				case lease.StateTypeBreaking:
					c.State = Breaking
				}
			}
			for k, v := range it.Metadata {
				if strings.EqualFold(k, ownerKey) && v != nil {
					c.Owner = *v
				}
			}
			snap.claims[c.Name] = c
		}
	}
	return snap, nil
}

// claim returns name's claim in the snapshot (Missing when absent).
func (s snapshot) claim(name string) Claim {
	if c, ok := s.claims[name]; ok {
		return c
	}
	return Claim{Name: name, State: Missing}
}

// leaseClient is the lease of one resource under this replica's lease id.
func (b blobs) leaseClient(name, leaseID string) *lease.BlobClient {
	lc, _ := lease.NewBlobClient(b.c.NewBlobClient(name), &lease.BlobClientOptions{LeaseID: &leaseID})
	return lc // the error is only for an unparsable lease id; ours is a UUID
}

// acquire takes name's lease for d, creating the blob if it is missing.
func (b blobs) acquire(ctx context.Context, name, leaseID string, d time.Duration) error {
	lc := b.leaseClient(name, leaseID)
	_, err := lc.AcquireLease(ctx, int32(d/time.Second), nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		if err = b.create(ctx, name); err == nil {
			_, err = lc.AcquireLease(ctx, int32(d/time.Second), nil)
		}
	}
	return err
}

// setOwner writes owner into name's metadata (the lease must be ours).
func (b blobs) setOwner(ctx context.Context, name, leaseID, owner string) error {
	_, err := b.c.NewBlobClient(name).SetMetadata(ctx, map[string]*string{ownerKey: &owner}, &blob.SetMetadataOptions{
		AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: &leaseID}},
	})
	return err
}

// renew renews name's lease.
func (b blobs) renew(ctx context.Context, name, leaseID string) error {
	_, err := b.leaseClient(name, leaseID).RenewLease(ctx, nil)
	return err
}

// release gives name's lease up at once.
func (b blobs) release(ctx context.Context, name, leaseID string) error {
	_, err := b.leaseClient(name, leaseID).ReleaseLease(ctx, nil)
	return err
}

// touch refreshes owner's presence blob.
func (b blobs) touch(ctx context.Context, owner string) error {
	_, err := b.c.NewBlockBlobClient(presencePrefix+owner).Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), nil)
	return storage.Classify(err, "refresh presence")
}

// forget deletes owner's presence blob.
func (b blobs) forget(ctx context.Context, owner string) error {
	_, err := b.c.NewBlobClient(presencePrefix+owner).Delete(ctx, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return storage.Classify(err, "delete presence")
	}
	return nil
}

// lostLease reports whether a lease operation failed because the lease is
// not ours (any more): taken, broken, released or the blob gone. Anything
// else (a timeout, a 503) says nothing about the lease.
func lostLease(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.StatusCode {
	case http.StatusConflict, http.StatusPreconditionFailed, http.StatusNotFound, http.StatusBadRequest:
		return true
	}
	return false
}
