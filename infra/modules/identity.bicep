// One user-assigned managed identity per app, each with only the roles that
// app needs (least privilege; deploy/bicep_test.go checks the lists below):
//
//   prism-api          reads tables (read models, the catalog, the events that
//                      name an owner, in every account) and writes only the
//                      users' notification settings (`preferences`,
//                      `pushsubscriptions`); sends to the command shards only
//   stream-service     nothing on storage (tickets and notices are in Redis)
//   domain-service     reads and writes tables (event store, snapshots, in
//                      every account); consumes the command shards,
//                      `deadlines` and `events-saga` (and their poison twins);
//                      sends to the events queues it publishes to; holds the
//                      shard leases (blobs in `prism-ownership` only)
//   readmodel-updater  reads and writes tables (read models, notifications,
//                      deliveries) in the primary, reads the other accounts'
//                      events (gap fills); consumes `events-readmodel`,
//                      `events-notifications` and `notification-deliveries`;
//                      nothing on a command shard
//
// Queue roles are scoped to single queues, not the account; command shard k
// lives in account k mod the account count (storage.bicep). Every app reads
// the Redis URL from Key Vault (Key Vault Secrets User on that one secret);
// only domain-service reads the Stripe key. With a registry in this resource
// group, each identity may pull images (AcrPull).

@description('Azure region.')
param location string

@description('Prefix of the identity names.')
param namePrefix string

@description('The storage accounts, the primary first: the primary holds the read side, the subscriber queues and the shard leases; streams and command shards are spread over all.')
param storageAccountNames array

@description('Command shards (PRISM_COMMAND_SHARDS); 1 is the single queue commands.')
param commandShards int

@description('The Key Vault holding the apps\' secrets.')
param keyVaultName string

@description('An Azure Container Registry in this resource group to pull images from; empty for none.')
param acrName string = ''

// Built-in role definition ids.
var tableDataReader = '76199698-9eea-4c19-bc75-cec21354c6b6'
var tableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var queueDataReader = '19e7f393-937e-4f77-808e-94535e297925'
var queueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var queueMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

var storageAccountName = storageAccountNames[0]
var accountCount = length(storageAccountNames)

// The apps, in the order of the identities below.
var apps = [
  'prism-api'
  'stream-service'
  'domain-service'
  'readmodel-updater'
]

// Roles on single tables, beside the account-wide ones below.
var singleTableRoles = [
  {
    app: 'prism-api'
    table: 'preferences'
    role: tableDataContributor
  }
  {
    app: 'prism-api'
    table: 'pushsubscriptions'
    role: tableDataContributor
  }
]

// Roles on the account's table service.
var tableRoles = [
  {
    app: 'prism-api'
    role: tableDataReader
  }
  {
    app: 'domain-service'
    role: tableDataContributor
  }
  {
    app: 'readmodel-updater'
    role: tableDataContributor
  }
]

// Roles on the table service of every other account, which holds only the
// streams (events, snapshots) that hash to it.
var streamTableRoles = [
  {
    app: 'prism-api'
    role: tableDataReader
  }
  {
    app: 'domain-service'
    role: tableDataContributor
  }
  {
    app: 'readmodel-updater'
    role: tableDataReader
  }
]

// Roles on single queues. Contributor: receive, delete, renew visibility and
// move to the poison twin (a consumer). Sender: add messages only. Reader:
// the queue's properties (readiness, and the KEDA scaler's queue length).
var queueRoles = [
  {
    app: 'domain-service'
    queue: 'deadlines'
    role: queueDataContributor
  }
  {
    app: 'domain-service'
    queue: 'deadlines-poison'
    role: queueDataContributor
  }
  {
    app: 'domain-service'
    queue: 'events-saga'
    role: queueDataContributor
  }
  {
    app: 'domain-service'
    queue: 'events-saga-poison'
    role: queueDataContributor
  }
  {
    app: 'domain-service'
    queue: 'events-readmodel'
    role: queueMessageSender
  }
  {
    app: 'domain-service'
    queue: 'events-readmodel'
    role: queueDataReader
  }
  {
    app: 'domain-service'
    queue: 'events-notifications'
    role: queueMessageSender
  }
  {
    app: 'domain-service'
    queue: 'events-notifications'
    role: queueDataReader
  }
  {
    app: 'readmodel-updater'
    queue: 'events-readmodel'
    role: queueDataContributor
  }
  {
    app: 'readmodel-updater'
    queue: 'events-readmodel-poison'
    role: queueDataContributor
  }
  {
    app: 'readmodel-updater'
    queue: 'events-notifications'
    role: queueDataContributor
  }
  {
    app: 'readmodel-updater'
    queue: 'events-notifications-poison'
    role: queueDataContributor
  }
  {
    app: 'readmodel-updater'
    queue: 'notification-deliveries'
    role: queueDataContributor
  }
  {
    app: 'readmodel-updater'
    queue: 'notification-deliveries-poison'
    role: queueDataContributor
  }
]

// Roles on every command shard's queue (suffix '') and on its poison twin
// (suffix '-poison'), each in its own account.
var shardRoles = [
  {
    app: 'prism-api'
    suffix: ''
    role: queueMessageSender
  }
  {
    app: 'prism-api'
    suffix: ''
    role: queueDataReader
  }
  {
    app: 'domain-service'
    suffix: ''
    role: queueDataContributor
  }
  {
    app: 'domain-service'
    suffix: '-poison'
    role: queueDataContributor
  }
]

// Roles on single blob containers of the primary: the shard leases.
var containerRoles = [
  {
    app: 'domain-service'
    container: 'prism-ownership'
    role: blobDataContributor
  }
]

// Roles on single Key Vault secrets.
var secretRoles = [
  {
    app: 'prism-api'
    secret: 'redis-url'
    role: keyVaultSecretsUser
  }
  {
    app: 'stream-service'
    secret: 'redis-url'
    role: keyVaultSecretsUser
  }
  {
    app: 'domain-service'
    secret: 'redis-url'
    role: keyVaultSecretsUser
  }
  {
    app: 'readmodel-updater'
    secret: 'redis-url'
    role: keyVaultSecretsUser
  }
  {
    app: 'domain-service'
    secret: 'stripe-api-key'
    role: keyVaultSecretsUser
  }
]

resource identities 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for app in apps: {
  name: '${namePrefix}-${app}'
  location: location
}]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource tableRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for r in tableRoles: {
  name: guid(storage.id, r.app, r.role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r.role)
    principalId: identities[indexOf(apps, r.app)].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' existing = [for r in singleTableRoles: {
  name: '${storageAccountName}/default/${r.table}'
}]

resource singleTableRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (r, i) in singleTableRoles: {
  name: guid(storage.id, r.table, r.app, r.role)
  scope: tables[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r.role)
    principalId: identities[indexOf(apps, r.app)].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = [for r in queueRoles: {
  name: '${storageAccountName}/default/${r.queue}'
}]

resource queueRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (r, i) in queueRoles: {
  name: guid(storage.id, r.queue, r.app, r.role)
  scope: queues[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r.role)
    principalId: identities[indexOf(apps, r.app)].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource streamAccounts 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [for i in range(1, accountCount - 1): {
  name: storageAccountNames[i]
}]

// Every other account (i) × every stream table role (j), at i * roles + j.
resource streamTableRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for n in range(0, (accountCount - 1) * length(streamTableRoles)): {
  name: guid(streamAccounts[n / length(streamTableRoles)].id, streamTableRoles[n % length(streamTableRoles)].app, streamTableRoles[n % length(streamTableRoles)].role)
  scope: streamAccounts[n / length(streamTableRoles)]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', streamTableRoles[n % length(streamTableRoles)].role)
    principalId: identities[indexOf(apps, streamTableRoles[n % length(streamTableRoles)].app)].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

// Every shard (k) × every shard role (j), at k * roles + j: shard k's queue in
// account k mod accountCount.
resource shardQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = [for n in range(0, commandShards * length(shardRoles)): {
  name: '${storageAccountNames[(n / length(shardRoles)) % accountCount]}/default/${commandShards == 1 ? 'commands' : 'commands-${n / length(shardRoles)}'}${shardRoles[n % length(shardRoles)].suffix}'
}]

resource shardRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for n in range(0, commandShards * length(shardRoles)): {
  name: guid(resourceGroup().id, storageAccountNames[(n / length(shardRoles)) % accountCount], commandShards == 1 ? 'commands' : 'commands-${n / length(shardRoles)}', shardRoles[n % length(shardRoles)].suffix, shardRoles[n % length(shardRoles)].app, shardRoles[n % length(shardRoles)].role)
  scope: shardQueues[n]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', shardRoles[n % length(shardRoles)].role)
    principalId: identities[indexOf(apps, shardRoles[n % length(shardRoles)].app)].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [for r in containerRoles: {
  name: '${storageAccountName}/default/${r.container}'
}]

resource containerRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (r, i) in containerRoles: {
  name: guid(storage.id, r.container, r.app, r.role)
  scope: containers[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r.role)
    principalId: identities[indexOf(apps, r.app)].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource secrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = [for r in secretRoles: {
  name: '${keyVaultName}/${r.secret}'
}]

resource secretRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (r, i) in secretRoles: {
  name: guid(resourceGroup().id, keyVaultName, r.secret, r.app, r.role)
  scope: secrets[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r.role)
    principalId: identities[indexOf(apps, r.app)].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(acrName)) {
  name: acrName
}

resource pullRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (app, i) in apps: if (!empty(acrName)) {
  name: guid(resourceGroup().id, acrName, app, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: identities[i].properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

@description('Resource id of each app\'s identity, by app.')
output ids object = {
  'prism-api': identities[0].id
  'stream-service': identities[1].id
  'domain-service': identities[2].id
  'readmodel-updater': identities[3].id
}

@description('Client id of each app\'s identity (AZURE_CLIENT_ID), by app.')
output clientIds object = {
  'prism-api': identities[0].properties.clientId
  'stream-service': identities[1].properties.clientId
  'domain-service': identities[2].properties.clientId
  'readmodel-updater': identities[3].properties.clientId
}
