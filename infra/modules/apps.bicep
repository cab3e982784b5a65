// The four Container Apps. Every setting each service reads is set here
// (deploy/bicep_test.go checks it against the Go sources):
//   prism-api          external ingress :8080 (ops :9080 inside the environment only),
//                      scales on HTTP concurrency
//   stream-service     external ingress :8081 (SSE; ops :9081 inside only), scales on
//                      concurrent connections
//   domain-service     internal ingress only (prism-api's operations console reaches its
//                      event-store inspector), KEDA azure-queue rules on every command shard
//                      and `events-saga`
//   readmodel-updater  internal ingress only (the console starts rebuilds there),
//                      KEDA azure-queue rule on `events-readmodel`
//
// Each app runs as its own user-assigned identity (modules/identity.bicep
// gives it only its roles). It reaches storage with that identity (no
// account key exists for it to use), reads its secrets from Key Vault with
// it (Key Vault references: no secret value is in this template or in the
// app's configuration), and its KEDA scale rules authenticate with it too.
// Tokens come from the OpenID Connect provider (Entra ID): no app holds a
// signing secret, and dev mode is off.
//
// Shutdown: Container Apps sends SIGTERM and waits 30 s (its default grace
// period) before SIGKILL; PRISM_SHUTDOWN_TIMEOUT (25s) fits inside it.
//
// Probes: a service answers /healthz only once it has provisioned its tables
// and queues (it waits up to a minute for storage), so the startup probe
// allows about 100 s (10 failures, 10 s apart) before liveness takes over.

@description('Azure region.')
param location string

@description('Prefix of the app names.')
param namePrefix string

@description('Resource id of the Container Apps environment.')
param environmentId string

@description('Default domain of the Container Apps environment (the apps\' public host names end with it).')
param environmentDefaultDomain string

@description('Resource id of each app\'s user-assigned identity, by app name.')
param identityIds object

@description('Client id of each app\'s identity (AZURE_CLIENT_ID), by app name.')
param identityClientIds object

@description('Storage account names, the primary first: streams and command shards are spread over them (PRISM_STORAGE_ACCOUNTS), reached with the apps\' identities.')
param storageAccountNames array

@description('Command shards (PRISM_COMMAND_SHARDS), a multiple of the number of storage accounts.')
param commandShards int

@description('Key Vault URI of the secret holding the Redis URL.')
param redisUrlSecretUri string

@description('Key Vault URI of the secret holding the Stripe API key.')
param stripeApiKeySecretUri string

@description('Issuer of the OpenID Connect provider whose tokens the apps accept, e.g. https://login.microsoftonline.com/<tenant>/v2.0.')
param oidcIssuer string

@description('Audience (application id or App ID URI) tokens must be issued for.')
param oidcAudience string

@description('Longest lifetime (exp - iat) of a token the apps accept.')
param oidcMaxTokenLifetime string = '2h'

@description('CIDRs of the proxies in front of the apps whose X-Forwarded-For is believed (the Container Apps ingress runs inside the environment\'s private network).')
param trustedProxies string = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10'

@description('The shop\'s currency (ISO 4217): prices are shown and charged in it.')
param currency string = 'EUR'

@description('Registry the images come from, e.g. myregistry.azurecr.io.')
param registryServer string

@description('Pull images with the user-assigned identity (it has AcrPull on the registry).')
param pullWithIdentity bool

@description('Tag of the four images.')
param imageTag string

@description('PRISM_LOG_LEVEL of every service.')
param logLevel string = 'info'

@description('OTLP/HTTP endpoint the services export traces to (empty: none), e.g. an OpenTelemetry collector app.')
param otlpEndpoint string = ''

// Public origins, built from the environment's domain rather than each app's
// fqdn (the two apps naming each other's fqdn would be a dependency cycle).
var apiOrigin = 'https://${namePrefix}-prism-api.${environmentDefaultDomain}'
var streamsOrigin = 'https://${namePrefix}-stream-service.${environmentDefaultDomain}'

@description('Most replicas of prism-api.')
param apiMaxReplicas int = 10

@description('Concurrent requests per prism-api replica before another is added.')
param apiConcurrentRequests int = 50

@description('Most replicas of stream-service.')
param streamMaxReplicas int = 10

@description('Concurrent SSE connections per stream-service replica before another is added.')
param streamConcurrentConnections int = 500

@description('Most replicas of domain-service.')
param domainMaxReplicas int = 10

@description('Most replicas of readmodel-updater.')
param readmodelMaxReplicas int = 5

var storageAccountName = storageAccountNames[0]

// What every service reads (shared/config, shared/auth). Storage is reached
// with the app's identity (Entra ID): the connection string is empty, and
// the account accepts no key anyway. Each app's AZURE_CLIENT_ID (its own
// identity) is set with the app.
var commonEnv = [
  {
    name: 'PRISM_STORAGE_AUTH'
    value: 'identity'
  }
  {
    name: 'AZURE_STORAGE_ACCOUNT_NAME'
    value: storageAccountName
  }
  {
    name: 'AZURE_STORAGE_CONNECTION_STRING'
    value: ''
  }
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT'
    value: otlpEndpoint
  }
  {
    name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
    value: ''
  }
  {
    name: 'REDIS_URL'
    secretRef: 'redis-url'
  }
  {
    // No signing secret anywhere: tokens come from the OIDC provider.
    name: 'PRISM_JWT_SECRET'
    value: ''
  }
  {
    // Never dev mode in Azure: no POST /api/dev/token, no development secret.
    name: 'PRISM_DEV_MODE'
    value: 'false'
  }
  {
    // Only dev mode reads it (the hosts a local Azurite may be on).
    name: 'PRISM_DEV_STORAGE_HOSTS'
    value: ''
  }
  {
    name: 'PRISM_OIDC_ISSUER'
    value: oidcIssuer
  }
  {
    name: 'PRISM_OIDC_AUDIENCE'
    value: oidcAudience
  }
  {
    name: 'PRISM_OIDC_MAX_TOKEN_LIFETIME'
    value: oidcMaxTokenLifetime
  }
  {
    name: 'PRISM_LOG_LEVEL'
    value: logLevel
  }
  {
    name: 'PRISM_SHUTDOWN_TIMEOUT'
    value: '25s'
  }
  {
    // Redelivery of a failed message, then the poison queue.
    name: 'PRISM_RETRY_SCHEDULE'
    value: '1m,5m,30m'
  }
  {
    // How long a Storage or Redis outage is retried in process.
    name: 'PRISM_OUTAGE_HOLD'
    value: '5m'
  }
  {
    // Go's profiles on the ops port: off in Azure.
    name: 'PRISM_PPROF'
    value: 'false'
  }
  {
    // Batch messages on: set 'false' for the first rollout over a version
    // whose consumers cannot read them (docs/operations.md).
    name: 'PRISM_BATCH_SENDS'
    value: 'true'
  }
  {
    // A busy queue's consumer waits this long after a partial batch.
    name: 'PRISM_RECEIVE_LINGER'
    value: '10ms'
  }
  {
    name: 'PRISM_EVENTS_TABLE'
    value: 'events'
  }
  {
    name: 'PRISM_SNAPSHOTS_TABLE'
    value: 'snapshots'
  }
  {
    name: 'PRISM_COMMANDS_QUEUE'
    value: 'commands'
  }
  {
    // commands-0 … commands-(N-1); every service routes or reads by it.
    name: 'PRISM_COMMAND_SHARDS'
    value: string(commandShards)
  }
  {
    // Every account, by name (Entra ID with the identity above): streams
    // and command shards are spread over them by the same hash.
    name: 'PRISM_STORAGE_ACCOUNTS'
    value: join(storageAccountNames, ',')
  }
]

resource api 'Microsoft.App/containerApps@2025-01-01' = {
  name: '${namePrefix}-prism-api'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityIds['prism-api']}': {}
    }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      activeRevisionsMode: 'Single'
      // Key Vault references, read with the app's own identity.
      secrets: [
        {
          name: 'redis-url'
          keyVaultUrl: redisUrlSecretUri
          identity: identityIds['prism-api']
        }
      ]
      registries: pullWithIdentity ? [
        {
          server: registryServer
          identity: identityIds['prism-api']
        }
      ] : []
      ingress: {
        external: true
        targetPort: 8080
        transport: 'auto'
        allowInsecure: false
        // /metrics and /readyz with details, for a Prometheus inside the
        // environment; never exposed outside it.
        additionalPortMappings: [
          {
            external: false
            targetPort: 9080
          }
        ]
      }
    }
    template: {
      containers: [
        {
          name: 'prism-api'
          image: '${registryServer}/prism-api:${imageTag}'
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: concat(commonEnv, [
            {
              // DefaultAzureCredential picks the app's identity by its client id.
              name: 'AZURE_CLIENT_ID'
              value: identityClientIds['prism-api']
            }
            {
              name: 'PRISM_HTTP_ADDR'
              value: ':8080'
            }
            {
              name: 'PRISM_OPS_ADDR'
              value: ':9080'
            }
            {
              name: 'PRISM_STREAMS_URL'
              value: streamsOrigin
            }
            {
              // The operations console's inspector and rebuilds: the two
              // apps' internal ingress, reachable inside the environment only.
              name: 'PRISM_DOMAIN_SERVICE_URL'
              value: 'http://${namePrefix}-domain-service'
            }
            {
              name: 'PRISM_READMODEL_UPDATER_URL'
              value: 'http://${namePrefix}-readmodel-updater'
            }
            {
              // Money in the storefront and in messages (ISO 4217, BCP 47).
              name: 'PRISM_CURRENCY'
              value: currency
            }
            {
              name: 'PRISM_LOCALE'
              value: 'en'
            }
            {
              // Web push: the VAPID public key (empty: push is off); readmodel-updater holds the private key.
              name: 'PRISM_VAPID_PUBLIC_KEY'
              value: ''
            }
            {
              // Empty: users without an e-mail address in their settings get no e-mail.
              name: 'PRISM_MAIL_USER_DOMAIN'
              value: ''
            }
            {
              // Browsers push through https endpoints only.
              name: 'PRISM_PUSH_INSECURE_ENDPOINTS'
              value: 'false'
            }
            {
              name: 'PRISM_OWNER_CACHE'
              value: '10000'
            }
            {
              name: 'PRISM_TRUSTED_PROXIES'
              value: trustedProxies
            }
            // Rate limits and the daily quota (docs/operations.md).
            {
              name: 'PRISM_LIMIT_COMMANDS_PER_USER'
              value: '10/s:200'
            }
            {
              name: 'PRISM_QUOTA_COMMANDS_PER_USER'
              value: '10000/24h'
            }
            {
              name: 'PRISM_LIMIT_QUERIES_PER_USER'
              value: '50/s:2000'
            }
            {
              name: 'PRISM_LIMIT_COMMANDS_PER_IP'
              value: '100/s:1000'
            }
            {
              name: 'PRISM_LIMIT_QUERIES_PER_IP'
              value: '300/s:5000'
            }
          ])
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              initialDelaySeconds: 2
              periodSeconds: 10
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8080
              }
              periodSeconds: 10
              timeoutSeconds: 3
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: apiMaxReplicas
        rules: [
          {
            name: 'http-concurrency'
            http: {
              metadata: {
                concurrentRequests: string(apiConcurrentRequests)
              }
            }
          }
        ]
      }
    }
  }
}

resource streams 'Microsoft.App/containerApps@2025-01-01' = {
  name: '${namePrefix}-stream-service'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityIds['stream-service']}': {}
    }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      activeRevisionsMode: 'Single'
      // Key Vault references, read with the app's own identity.
      secrets: [
        {
          name: 'redis-url'
          keyVaultUrl: redisUrlSecretUri
          identity: identityIds['stream-service']
        }
      ]
      registries: pullWithIdentity ? [
        {
          server: registryServer
          identity: identityIds['stream-service']
        }
      ] : []
      ingress: {
        // SSE through the Container Apps ingress: the 15 s heartbeat keeps
        // each stream well inside the ingress idle timeout.
        external: true
        targetPort: 8081
        transport: 'auto'
        allowInsecure: false
        additionalPortMappings: [
          {
            external: false
            targetPort: 9081
          }
        ]
      }
    }
    template: {
      containers: [
        {
          name: 'stream-service'
          image: '${registryServer}/stream-service:${imageTag}'
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: concat(commonEnv, [
            {
              // DefaultAzureCredential picks the app's identity by its client id.
              name: 'AZURE_CLIENT_ID'
              value: identityClientIds['stream-service']
            }
            {
              name: 'PRISM_HTTP_ADDR'
              value: ':8081'
            }
            {
              name: 'PRISM_CORS_ORIGINS'
              value: apiOrigin
            }
            {
              name: 'PRISM_SSE_CLIENT_BUFFER'
              value: '1024'
            }
            {
              name: 'PRISM_SSE_HEARTBEAT'
              value: '15s'
            }
            {
              name: 'PRISM_SSE_RESYNC'
              value: '5s'
            }
            {
              name: 'PRISM_SSE_REPLAY_PAGE'
              value: '500'
            }
            {
              name: 'PRISM_SSE_TOPIC_BUFFER'
              value: '1024'
            }
            {
              name: 'PRISM_OPS_ADDR'
              value: ':9081'
            }
            {
              // A stream closes when the token that opened it expires, and
              // after this at the latest (clients resume with Last-Event-ID).
              name: 'PRISM_SSE_MAX_DURATION'
              value: '1h'
            }
            {
              name: 'PRISM_LIMIT_STREAMS_PER_USER'
              value: '20'
            }
            {
              name: 'PRISM_LIMIT_STREAMS_PER_IP'
              value: '100'
            }
            {
              name: 'PRISM_LIMIT_STREAMS_PER_REPLICA'
              value: '5000'
            }
            {
              name: 'PRISM_LIMIT_STREAM_OPENS_PER_IP'
              value: '10/s:100'
            }
            {
              name: 'PRISM_TRUSTED_PROXIES'
              value: trustedProxies
            }
          ])
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 8081
              }
              initialDelaySeconds: 2
              periodSeconds: 10
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8081
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8081
              }
              periodSeconds: 10
              timeoutSeconds: 3
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        // An SSE connection counts as one concurrent request for as long as
        // it is open, so this rule counts connections per replica. At least
        // one replica: a stream cannot wait for a cold start.
        minReplicas: 1
        maxReplicas: streamMaxReplicas
        rules: [
          {
            name: 'sse-connections'
            http: {
              metadata: {
                concurrentRequests: string(streamConcurrentConnections)
              }
            }
          }
        ]
      }
    }
  }
}

// One KEDA rule per command shard: shard k's queue lives in account
// k mod <accounts>; the scaler reads its length with domain-service's
// identity (Storage Queue Data Contributor on that queue).
var shardRules = [for k in range(0, commandShards): {
  name: 'commands-${k}'
  custom: {
    type: 'azure-queue'
    metadata: {
      queueName: commandShards == 1 ? 'commands' : 'commands-${k}'
      queueLength: '5'
      accountName: storageAccountNames[k % length(storageAccountNames)]
    }
    identity: identityIds['domain-service']
  }
}]

resource domain 'Microsoft.App/containerApps@2025-01-01' = {
  name: '${namePrefix}-domain-service'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityIds['domain-service']}': {}
    }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      // Internal ingress only: domain-service takes its work from the
      // command shards it owns; its port serves the probes, /metrics and the
      // admin event-store inspector, which prism-api's operations console
      // reaches inside the environment. Nothing outside the environment can.
      ingress: {
        external: false
        targetPort: 8082
        transport: 'http'
      }
      activeRevisionsMode: 'Single'
      // Key Vault references, read with the app's own identity.
      secrets: [
        {
          name: 'redis-url'
          keyVaultUrl: redisUrlSecretUri
          identity: identityIds['domain-service']
        }
        {
          name: 'stripe-api-key'
          keyVaultUrl: stripeApiKeySecretUri
          identity: identityIds['domain-service']
        }
      ]
      registries: pullWithIdentity ? [
        {
          server: registryServer
          identity: identityIds['domain-service']
        }
      ] : []
    }
    template: {
      containers: [
        {
          name: 'domain-service'
          image: '${registryServer}/domain-service:${imageTag}'
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: concat(commonEnv, [
            {
              // DefaultAzureCredential picks the app's identity by its client id.
              name: 'AZURE_CLIENT_ID'
              value: identityClientIds['domain-service']
            }
            {
              name: 'PRISM_HTTP_ADDR'
              value: ':8082'
            }
            {
              // Each subscriber gets its own queue, events-<name> (Storage
              // Queues do not fan out); the storage module creates them all.
              name: 'PRISM_EVENT_SUBSCRIBERS'
              value: 'readmodel,saga,notifications'
            }
            {
              name: 'PRISM_CONCURRENCY'
              value: '16'
            }
            {
              name: 'PRISM_CACHE_SIZE'
              value: '10000'
            }
            {
              name: 'PRISM_SNAPSHOT_EVERY'
              value: '100'
            }
            {
              // How long the checkout saga waits for the payment.
              name: 'PRISM_PAYMENT_DEADLINE'
              value: '10s'
            }
            {
              // How long the checkout saga waits for any other step.
              name: 'PRISM_CHECKOUT_STEP_DEADLINE'
              value: '10m'
            }
            {
              // Read by the payment simulator only, which Azure never runs.
              name: 'PRISM_PAYMENT_SLOW_DELAY'
              value: '15s'
            }
            {
              // An open cart untouched this long expires (CartExpired; at most 7 days).
              name: 'PRISM_CART_TTL'
              value: '24h'
            }
            {
              // Real payments: outside dev mode domain-service refuses to
              // start with anything else.
              name: 'PRISM_PAYMENT_PROVIDER'
              value: 'stripe'
            }
            {
              name: 'PRISM_STRIPE_API_KEY'
              secretRef: 'stripe-api-key'
            }
            {
              // Empty: Stripe itself (a stripe-mock address is refused outside dev mode).
              name: 'PRISM_STRIPE_API_BASE'
              value: ''
            }
            {
              // Charges are in the shop's currency.
              name: 'PRISM_CURRENCY'
              value: currency
            }
            {
              // Each replica consumes the shards it holds a blob lease on.
              name: 'PRISM_SHARD_OWNERSHIP'
              value: 'leases'
            }
            {
              // A stopped replica's shards are served again within a lease
              // (plus a balancing round, 3 s); Azure allows 15-60 s.
              name: 'PRISM_SHARD_LEASE'
              value: '15s'
            }
          ])
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 8082
              }
              initialDelaySeconds: 2
              periodSeconds: 10
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8082
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8082
              }
              periodSeconds: 10
              timeoutSeconds: 3
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        // minReplicas 1, not 0: KEDA polls the queue every 30 s, so from zero
        // the first command would wait for a poll plus a cold start, and the
        // Redis nudge that wakes idle consumers at once cannot wake a replica
        // that does not exist (a nudge with no listener is harmless, just
        // lost). One warm replica keeps command latency in milliseconds.
        minReplicas: 1
        maxReplicas: domainMaxReplicas
        // KEDA azure-queue, one rule per command shard (in its account) and
        // one on events-saga, each asking for one replica per 5 messages
        // (queueLength '5'); KEDA takes the largest answer. Hashing spreads
        // the backlog B evenly, so the busiest shard holds about B/N and
        // domain-service gets about B/(5N) replicas: 1 per 80 waiting
        // commands with 16 shards (docs/scaling.md has the arithmetic). No
        // rule watches deadlines: delayed commands wait there hidden and are
        // no work to scale for (KEDA's azure-queue scaler counts invisible
        // messages too, kedacore/keda#4432). Every rule authenticates with
        // the app's managed identity (Container Apps passes it to the
        // scaler; no connection string, no key).
        rules: concat(shardRules, [
          {
            name: 'events-saga-queue'
            custom: {
              type: 'azure-queue'
              metadata: {
                queueName: 'events-saga'
                queueLength: '5'
                accountName: storageAccountName
              }
              // The scaler reads the queue's length with the app's
              // identity (Storage Queue Data Contributor on this queue).
              identity: identityIds['domain-service']
            }
          }
        ])
      }
    }
  }
}

resource readmodel 'Microsoft.App/containerApps@2025-01-01' = {
  name: '${namePrefix}-readmodel-updater'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityIds['readmodel-updater']}': {}
    }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      // Internal ingress only: readmodel-updater consumes events-readmodel.
      // Its port serves the probes, /metrics and the admin rebuild routes
      // (which prism-api's operations console calls) inside the environment.
      ingress: {
        external: false
        targetPort: 8083
        transport: 'http'
      }
      activeRevisionsMode: 'Single'
      // Key Vault references, read with the app's own identity.
      secrets: [
        {
          name: 'redis-url'
          keyVaultUrl: redisUrlSecretUri
          identity: identityIds['readmodel-updater']
        }
      ]
      registries: pullWithIdentity ? [
        {
          server: registryServer
          identity: identityIds['readmodel-updater']
        }
      ] : []
    }
    template: {
      containers: [
        {
          name: 'readmodel-updater'
          image: '${registryServer}/readmodel-updater:${imageTag}'
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: concat(commonEnv, [
            {
              // DefaultAzureCredential picks the app's identity by its client id.
              name: 'AZURE_CLIENT_ID'
              value: identityClientIds['readmodel-updater']
            }
            {
              name: 'PRISM_HTTP_ADDR'
              value: ':8083'
            }
            {
              name: 'PRISM_CONCURRENCY'
              value: '16'
            }
            {
              // Notification channels (docs/operations.md). Empty values keep the production defaults: no e-mail without an SMTP server, no push without VAPID keys, SMS recorded as failed (no provider yet).
              name: 'PRISM_CURRENCY'
              value: currency
            }
            {
              name: 'PRISM_LOCALE'
              value: 'en'
            }
            {
              name: 'PRISM_SMTP_ADDR'
              value: ''
            }
            {
              name: 'PRISM_SMTP_USER'
              value: ''
            }
            {
              // Move to a Key Vault secret reference before setting it.
              name: 'PRISM_SMTP_PASSWORD'
              value: ''
            }
            {
              name: 'PRISM_MAIL_FROM'
              value: 'Prism shop <shop@prism.test>'
            }
            {
              name: 'PRISM_MAIL_USER_DOMAIN'
              value: ''
            }
            {
              name: 'PRISM_VAPID_PUBLIC_KEY'
              value: ''
            }
            {
              // Move to a Key Vault secret reference before setting it.
              name: 'PRISM_VAPID_PRIVATE_KEY'
              value: ''
            }
            {
              name: 'PRISM_VAPID_SUBJECT'
              value: 'mailto:shop@prism.test'
            }
            {
              name: 'PRISM_SMS_PROVIDER'
              value: 'none'
            }
            {
              // Links in messages.
              name: 'PRISM_PUBLIC_URL'
              value: 'https://${environmentDefaultDomain}'
            }
            {
              // Who gets low-stock alerts (user ids, comma-separated).
              name: 'PRISM_ADMIN_USERS'
              value: ''
            }
            {
              name: 'PRISM_PUSH_INSECURE_ENDPOINTS'
              value: 'false'
            }
          ])
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 8083
              }
              initialDelaySeconds: 2
              periodSeconds: 10
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8083
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8083
              }
              periodSeconds: 10
              timeoutSeconds: 3
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        // minReplicas 1 for the same reason as domain-service: read models
        // (and so SSE notices) must not wait for a KEDA poll and a cold start.
        minReplicas: 1
        maxReplicas: readmodelMaxReplicas
        rules: [
          {
            name: 'events-readmodel-queue'
            custom: {
              type: 'azure-queue'
              metadata: {
                queueName: 'events-readmodel'
                queueLength: '5'
                accountName: storageAccountName
              }
              // The scaler reads the queue's length with the app's
              // identity (Storage Queue Data Contributor on this queue).
              identity: identityIds['readmodel-updater']
            }
          }
        ]
      }
    }
  }
}

output apiUrl string = 'https://${api.properties.configuration.ingress.fqdn}'
output streamUrl string = 'https://${streams.properties.configuration.ingress.fqdn}'
