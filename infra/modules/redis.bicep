// Azure Cache for Redis: idempotency keys, command status, change notices
// (history + pub/sub), consumer nudges, rate limits and stream tickets. TLS
// only (port 6380, rediss://).
//
// maxmemory-policy noeviction: Redis never evicts a key to make room (an
// evicted idempotency record would let a retried command through twice);
// at its memory limit it refuses writes and the API answers 503 until keys
// expire (everything Prism writes has a TTL) or the cache grows. The
// per-user daily command quota bounds what one user can make it hold.

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
    redisConfiguration: {
      'maxmemory-policy': 'noeviction'
    }
  }
}

output name string = cache.name
output hostName string = cache.properties.hostName
