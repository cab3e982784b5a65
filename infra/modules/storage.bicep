// One storage account of the accountCount that Prism spreads its streams over
// (PRISM_STORAGE_ACCOUNTS). Every account holds the event store and snapshots
// of the streams that hash to it (tables events, snapshots) and the queues of
// its command shards (shard k lives in account k mod accountCount, the
// account of its streams), each with its -poison twin. The primary (index 0)
// also holds the read models, the subscriber queues, deadlines (where delayed
// commands wait until due) and the blob container prism-ownership (the shard
// leases). The services also create what they use at start-up
// (idempotently); declaring it here makes the accounts complete before the
// first replica runs and lets KEDA watch queues that already exist.

@description('Azure region.')
param location string

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Replication, e.g. Standard_LRS (dev) or Standard_ZRS (production).')
param skuName string = 'Standard_LRS'

@description('This account\'s place among the storage accounts: 0 is the primary.')
@minValue(0)
param accountIndex int = 0

@description('How many storage accounts the streams are spread over.')
@minValue(1)
param accountCount int = 1

@description('Command shards over all accounts (PRISM_COMMAND_SHARDS), a multiple of accountCount; 1 is the single queue commands.')
@minValue(1)
param commandShards int = 16

var primary = accountIndex == 0

// Tables of the streams that hash to this account: letters and digits only.
var streamTableNames = [
  'events'
  'snapshots'
]

// Primary only: projections is the read-model catalog (which table each
// projection is live in); carts, orders and products are the projections'
// default tables (a rebuild creates new ones itself).
var tableNames = [
  'projections'
  'carts'
  'orders'
  'products'
  'notifications'
  // Notification settings and deliveries (shared/preferences, readmodel-updater).
  'preferences'
  'pushsubscriptions'
  'deliveries'
  'smssink'
]

// Primary only: one events-<subscriber> queue per subscriber named in
// domain-service's PRISM_EVENT_SUBSCRIBERS (Storage Queues do not fan out):
// readmodel (readmodel-updater), saga (the checkout process manager in
// domain-service) and notifications; and deadlines, which no autoscaler
// watches (a deadline hidden for minutes is no work to scale for).
var queueNames = [
  'events-readmodel'
  'events-readmodel-poison'
  'events-saga'
  'events-saga-poison'
  'events-notifications'
  'events-notifications-poison'
  // Deadlines (an idle cart's expiry, the checkout's payment deadline):
  // commands sent with a visibility delay, kept off the command shards so
  // their depth (and KEDA's scaling on it) counts only work that is due.
  'deadlines'
  'deadlines-poison'
  // One message per (notification, channel), retried on its own.
  'notification-deliveries'
  'notification-deliveries-poison'
]

// The command shards whose queues live here: k = accountIndex, accountIndex +
// accountCount, … (the single queue commands when there is one shard).
var shardQueueNames = [for k in range(0, commandShards == 1 ? 1 : commandShards / accountCount): commandShards == 1 ? 'commands' : 'commands-${accountIndex + k * accountCount}']

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Every reader uses Entra ID (the apps' managed identities, KEDA's
    // scalers with them): no account key is needed, so none works.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource streamTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for t in streamTableNames: {
  parent: tableService
  name: t
}]

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for t in tableNames: if (primary) {
  parent: tableService
  name: t
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queueNames: if (primary) {
  parent: queueService
  name: q
}]

resource shardQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in shardQueueNames: {
  parent: queueService
  name: q
}]

resource shardPoisonQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in shardQueueNames: {
  parent: queueService
  name: '${q}-poison'
}]

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = if (primary) {
  parent: account
  name: 'default'
}

// One blob per command shard (and deadlines) whose lease says which
// domain-service replica owns it, plus a presence blob per replica.
resource ownership 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (primary) {
  parent: blobService
  name: 'prism-ownership'
}

output name string = account.name
output id string = account.id
