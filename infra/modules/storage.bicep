// The storage account: the event store, snapshots and read models (Table
// Storage) and the command and event queues (Queue Storage), each queue with
// its -poison twin. The services also create what they use at start-up
// (idempotently); declaring them here makes the account complete before the
// first replica runs and lets KEDA watch queues that already exist.

@description('Azure region.')
param location string

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Replication, e.g. Standard_LRS (dev) or Standard_ZRS (production).')
param skuName string = 'Standard_LRS'

// Table names: letters and digits only. projections is the read-model catalog
// (which table each projection is live in); carts, orders and products are the
// projections' default tables (a rebuild creates new ones itself).
var tableNames = [
  'events'
  'snapshots'
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

// commands, and one events-<subscriber> queue per subscriber named in
// domain-service's PRISM_EVENT_SUBSCRIBERS (Storage Queues do not fan out):
// readmodel (readmodel-updater), saga (the checkout process manager in
// domain-service) and notifications.
var queueNames = [
  'commands'
  'commands-poison'
  'events-readmodel'
  'events-readmodel-poison'
  'events-saga'
  'events-saga-poison'
  'events-notifications'
  'events-notifications-poison'
  // Deadlines (an idle cart's expiry, the checkout's payment deadline):
  // commands sent with a visibility delay, kept off the commands queue so
  // its depth (and KEDA's scaling on it) counts only work that is due.
  'deadlines'
  'deadlines-poison'
  // One message per (notification, channel), retried on its own.
  'notification-deliveries'
  'notification-deliveries-poison'
]

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

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for t in tableNames: {
  parent: tableService
  name: t
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queueNames: {
  parent: queueService
  name: q
}]

output name string = account.name
output id string = account.id
