// The Key Vault holding the apps' secrets, which the Container Apps read as
// Key Vault references with each app's own identity (no plain Container Apps
// secrets). RBAC authorization: access is a role on one secret
// (modules/identity.bicep), never an access policy on the vault.
//
//   redis-url       rediss://:<key>@<host>:6380/0, built from Redis's key
//                   activeKey (switching it is how the key rotates)
//   stripe-api-key  the Stripe secret key (a secure parameter)
//
// Azure Cache for Redis is reached with its access key from this vault, not
// with Entra ID: go-redis would need a token refresher re-authenticating
// every connection before its token expires (a follow-up, infra/README.md).

@description('Azure region.')
param location string

@description('Vault name, globally unique, 3-24 characters.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure Cache for Redis name (the URL is built from its key).')
param redisName string

@description('Which Redis key the URL uses: primary or secondary (rotate by switching).')
@allowed([
  'primary'
  'secondary'
])
param activeKey string = 'primary'

@description('The Stripe secret key (sk_live_… or sk_test_…).')
@secure()
param stripeApiKey string

resource redis 'Microsoft.Cache/redis@2024-03-01' existing = {
  name: redisName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

var redisKey = activeKey == 'primary' ? redis.listKeys().primaryKey : redis.listKeys().secondaryKey

resource redisUrl 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'redis-url'
  properties: {
    // The key is base64 (may hold / + =): escape it for the URL's userinfo.
    value: 'rediss://:${uriComponent(redisKey)}@${redis.properties.hostName}:${redis.properties.sslPort}/0'
  }
}

resource stripeKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'stripe-api-key'
  properties: {
    value: stripeApiKey
  }
}

output name string = vault.name

@description('Versionless URI of the redis-url secret (a new version is picked up on restart).')
output redisUrlSecretUri string = redisUrl.properties.secretUri

@description('Versionless URI of the stripe-api-key secret.')
output stripeApiKeySecretUri string = stripeKey.properties.secretUri
