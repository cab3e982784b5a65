// Prism on Azure: storage accounts (tables, queues, the shard leases; Entra ID
// only), Azure Cache for Redis, a Key Vault for the secrets, Log Analytics + a
// Container Apps environment, one user-assigned identity per app with only its
// roles, and one Container App per service. Deploy into an existing resource group:
//
//   az deployment group create -g <rg> -f infra/main.bicep \
//     -p infra/main.parameters.json -p stripeApiKey=<sk_live_…>
//
// infra/README.md explains every parameter, secrets and their rotation;
// docs/security.md the threat model behind the roles.

targetScope = 'resourceGroup'

@description('Azure region of every resource; defaults to the resource group\'s.')
param location string = resourceGroup().location

@description('Prefix of every resource name: lowercase letters, digits and hyphens, e.g. prism-dev.')
@minLength(3)
@maxLength(12)
param namePrefix string

@description('Registry the images are pulled from when acrName is empty, e.g. ghcr.io/prism-es (images are <registry>/<service>:<imageTag>).')
param imageRegistry string = ''

@description('An Azure Container Registry in this resource group holding the images; the apps pull from it with their identity (AcrPull is granted). Empty: pull anonymously from imageRegistry.')
param acrName string = ''

@description('Tag of the four service images.')
param imageTag string

@description('Issuer of the OpenID Connect provider whose tokens the apps accept: for Entra ID https://login.microsoftonline.com/<tenant id>/v2.0.')
param oidcIssuer string

@description('Audience tokens must be issued for: the API\'s application (client) id or App ID URI in Entra ID.')
param oidcAudience string

@description('Longest lifetime (exp - iat) of a token the apps accept, as a Go duration.')
param oidcMaxTokenLifetime string = '2h'

@description('The Stripe secret key. Pass it on the command line, never in a parameters file; it is stored in the Key Vault.')
@secure()
@minLength(1)
param stripeApiKey string

@description('The shop\'s currency (ISO 4217): prices are shown and charged in it.')
param currency string = 'EUR'

@description('Which key of Redis the apps use (through the Key Vault secret); switch it to rotate the key without downtime.')
@allowed([
  'primary'
  'secondary'
])
param activeKey string = 'primary'

@description('Storage replication: Standard_LRS for dev, Standard_ZRS or Standard_GZRS for production.')
param storageSku string = 'Standard_LRS'

@description('Azure Cache for Redis tier: Basic (dev), Standard or Premium.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param redisSku string = 'Basic'

@description('Azure Cache for Redis size within its tier (C0-C6, P1-P5).')
param redisCapacity int = 0

@description('Days Log Analytics keeps logs.')
param logRetentionDays int = 30

@description('PRISM_LOG_LEVEL of every service: debug, info, warn or error.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@description('Most prism-api replicas.')
param apiMaxReplicas int = 10

@description('Concurrent requests per prism-api replica before one is added.')
param apiConcurrentRequests int = 50

@description('Most stream-service replicas.')
param streamMaxReplicas int = 10

@description('Open SSE connections per stream-service replica before one is added.')
param streamConcurrentConnections int = 500

@description('Most domain-service replicas (KEDA asks for one per 5 messages waiting on the busiest command shard). More than commandShards + 1 would idle.')
param domainMaxReplicas int = 10

@description('Command shards: queues commands-0 … commands-(N-1) (PRISM_COMMAND_SHARDS), each owned by one domain-service replica at a time; 1 keeps the single queue commands. A multiple of storageAccounts; changing it reroutes aggregates (docs/scaling.md, resharding).')
@minValue(1)
@maxValue(64)
param commandShards int = 16

@description('Storage accounts the event store, snapshots and command shards are spread over (PRISM_STORAGE_ACCOUNTS); the first also holds read models and subscriber queues. Fixed once data exists: adding one moves streams.')
@minValue(1)
@maxValue(16)
param storageAccounts int = 1

@description('Most readmodel-updater replicas (KEDA adds one per 5 messages waiting in events-readmodel).')
param readmodelMaxReplicas int = 5

var suffix = uniqueString(resourceGroup().id)
var storagePrefix = toLower(replace(namePrefix, '-', ''))
// The primary keeps the one-account name; account i > 0 is <prefix><i><hash>.
var storageAccountNames = [for i in range(0, storageAccounts): i == 0 ? take('${storagePrefix}${suffix}', 24) : take('${storagePrefix}${i}${suffix}', 24)]
var keyVaultName = take('${storagePrefix}kv${suffix}', 24)
var registryServer = empty(acrName) ? imageRegistry : '${acrName}${environment().suffixes.acrLoginServer}'

module storage 'modules/storage.bicep' = [for (accountName, i) in storageAccountNames: {
  name: '${namePrefix}-storage-${i}'
  params: {
    location: location
    name: accountName
    skuName: storageSku
    accountIndex: i
    accountCount: storageAccounts
    commandShards: commandShards
  }
}]

module cache 'modules/redis.bicep' = {
  name: '${namePrefix}-redis'
  params: {
    location: location
    name: '${namePrefix}-redis-${suffix}'
    skuName: redisSku
    capacity: redisCapacity
  }
}

module platform 'modules/environment.bicep' = {
  name: '${namePrefix}-environment'
  params: {
    location: location
    name: '${namePrefix}-env'
    workspaceName: '${namePrefix}-logs'
    retentionInDays: logRetentionDays
  }
}

module vault 'modules/keyvault.bicep' = {
  name: '${namePrefix}-keyvault'
  params: {
    location: location
    name: keyVaultName
    redisName: cache.outputs.name
    activeKey: activeKey
    stripeApiKey: stripeApiKey
  }
}

module identity 'modules/identity.bicep' = {
  name: '${namePrefix}-identity'
  params: {
    location: location
    namePrefix: namePrefix
    storageAccountNames: [for i in range(0, storageAccounts): storage[i].outputs.name]
    commandShards: commandShards
    keyVaultName: vault.outputs.name
    acrName: acrName
  }
}

module apps 'modules/apps.bicep' = {
  name: '${namePrefix}-apps'
  params: {
    location: location
    namePrefix: namePrefix
    environmentId: platform.outputs.environmentId
    environmentDefaultDomain: platform.outputs.defaultDomain
    identityIds: identity.outputs.ids
    identityClientIds: identity.outputs.clientIds
    storageAccountNames: [for i in range(0, storageAccounts): storage[i].outputs.name]
    commandShards: commandShards
    redisUrlSecretUri: vault.outputs.redisUrlSecretUri
    stripeApiKeySecretUri: vault.outputs.stripeApiKeySecretUri
    oidcIssuer: oidcIssuer
    oidcAudience: oidcAudience
    oidcMaxTokenLifetime: oidcMaxTokenLifetime
    currency: currency
    registryServer: registryServer
    pullWithIdentity: !empty(acrName)
    imageTag: imageTag
    logLevel: logLevel
    apiMaxReplicas: apiMaxReplicas
    apiConcurrentRequests: apiConcurrentRequests
    streamMaxReplicas: streamMaxReplicas
    streamConcurrentConnections: streamConcurrentConnections
    domainMaxReplicas: domainMaxReplicas
    readmodelMaxReplicas: readmodelMaxReplicas
  }
}

@description('Public URL of the API.')
output apiUrl string = apps.outputs.apiUrl

@description('Public URL of the SSE streams.')
output streamUrl string = apps.outputs.streamUrl

@description('Primary storage account name.')
output storageAccountName string = storage[0].outputs.name

@description('Every storage account, the primary first (PRISM_STORAGE_ACCOUNTS).')
output storageAccountNames array = [for i in range(0, storageAccounts): storage[i].outputs.name]

@description('Client id of each app\'s managed identity.')
output identityClientIds object = identity.outputs.clientIds

@description('The Key Vault holding the secrets.')
output keyVaultName string = vault.outputs.name
