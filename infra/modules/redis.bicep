// Azure Cache for Redis: idempotency keys, command status, change notices
// (history + pub/sub) and consumer nudges. TLS only (port 6380, rediss://).

@description('Azure region.')
param location string

@description('Cache name, globally unique.')
param name string

@description('Basic (dev, no replica), Standard (replicated) or Premium.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param skuName string = 'Basic'

@description('Size within the family: 0-6 for Basic/Standard (C0-C6), 1-5 for Premium (P1-P5).')
param capacity int = 0

resource cache 'Microsoft.Cache/redis@2024-03-01' = {
  name: name
  location: location
  properties: {
    sku: {
      name: skuName
      family: skuName == 'Premium' ? 'P' : 'C'
      capacity: capacity
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    redisVersion: 'latest'
  }
}

output name string = cache.name
output hostName string = cache.properties.hostName
