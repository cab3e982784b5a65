package deploy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Built-in Azure role definition ids the templates use.
var roleNames = map[string]string{
	"76199698-9eea-4c19-bc75-cec21354c6b6": "Storage Table Data Reader",
	"0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
	"19e7f393-937e-4f77-808e-94535e297925": "Storage Queue Data Reader",
	"974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
	"c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
	"ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
	"4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
	"7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
}

// grant is one role of one app on one thing.
type grant struct {
	App, Role, On string
}

// grants reads a `var <name> = [ {app, role[, queue|secret|…]} … ]` list of
// identity.bicep, resolving each role variable to its built-in role's name.
func grants(t *testing.T, f *BicepFile, name, onKey string) []grant {
	t.Helper()
	v := f.Var(name)
	require.True(t, v.OK(), "%s: var %s", f.Path, name)
	var out []grant
	for _, o := range v.Objects() {
		app, ok := o.Prop("app").String()
		require.True(t, ok, "%s: %s: app is a literal: %s", f.Path, name, o.Text())
		roleVar := strings.TrimSpace(o.Prop("role").Text())
		id, ok := f.Var(roleVar).String()
		require.True(t, ok, "%s: %s: role %s is a variable holding a role id", f.Path, name, roleVar)
		role, known := roleNames[id]
		require.True(t, known, "%s: role id %s (%s) is not one of the built-in roles this test knows", f.Path, id, roleVar)
		g := grant{App: app, Role: role}
		if onKey != "" {
			g.On, ok = o.Prop(onKey).String()
			require.True(t, ok, "%s: %s: %s is a literal", f.Path, name, onKey)
		}
		out = append(out, g)
	}
	return out
}

// assignedFor says whether f has a role assignment resource looping over
// list with the given scope (the grants are really assigned).
func assignedFor(f *BicepFile, list, scope string) bool {
	for _, r := range f.ResourcesOfType("Microsoft.Authorization/roleAssignments") {
		if strings.Contains(r.Head, " in "+list+":") && strings.TrimSpace(r.Body.Prop("scope").Text()) == scope &&
			strings.Contains(r.Body.Prop("principalId").Text(), "identities[indexOf(apps, r.app)]") {
			return true
		}
	}
	return false
}

// TestLeastPrivilege: one managed identity per app, each with only what the
// app does (docs/security.md): stream-service has nothing on storage,
// readmodel-updater cannot write a command shard, only prism-api and the
// saga (domain-service) send commands; queue roles name single queues (each
// command shard's in its account), the lease role the one container;
// secrets are Key Vault secrets, each readable by the apps that need it;
// the storage account takes no shared key.
func TestLeastPrivilege(t *testing.T) {
	_, all := bicepFiles(t)
	f, err := ParseBicepFile(filepath.Join(repoRoot(t), "infra", "modules", "identity.bicep"))
	require.NoError(t, err)

	var serviceNames []string
	for _, s := range services {
		serviceNames = append(serviceNames, s.Name)
	}
	assert.ElementsMatch(t, serviceNames, f.Var("apps").Strings(), "an identity for each app")
	ids := f.ResourcesOfType("Microsoft.ManagedIdentity/userAssignedIdentities")
	require.Len(t, ids, 1)
	assert.Contains(t, ids[0].Head, "for app in apps", "one identity per app")
	assert.Contains(t, ids[0].Body.Prop("name").Text(), "${app}")

	tables := grants(t, f, "tableRoles", "")
	singleTables := grants(t, f, "singleTableRoles", "table")
	queues := grants(t, f, "queueRoles", "queue")
	secrets := grants(t, f, "secretRoles", "secret")
	streamTables := grants(t, f, "streamTableRoles", "")
	shards := grants(t, f, "shardRoles", "suffix")
	containers := grants(t, f, "containerRoles", "container")
	assert.True(t, assignedFor(f, "tableRoles", "storage"), "table roles are assigned on the account")
	assert.True(t, assignedFor(f, "singleTableRoles", "tables[i]"), "single-table roles are assigned on single tables")
	assert.True(t, assignedFor(f, "queueRoles", "queues[i]"), "queue roles are assigned on single queues")
	assert.True(t, assignedFor(f, "secretRoles", "secrets[i]"), "secret roles are assigned on single secrets")
	assert.True(t, assignedFor(f, "containerRoles", "containers[i]"), "container roles are assigned on single containers")
	// The loops over accounts × roles and shards × roles: element n is
	// account n / roles (shard n / roles) with role n mod roles.
	assert.True(t, assignedOver(f, "streamTableRoles", "streamAccounts[n / length(streamTableRoles)]"), "stream table roles are assigned on every other account")
	assert.True(t, assignedOver(f, "shardRoles", "shardQueues[n]"), "shard roles are assigned on single queues")
	shardQueues := f.ResourcesOfType("Microsoft.Storage/storageAccounts/queueServices/queues")
	var shardQueueName string
	for _, r := range shardQueues {
		if r.Symbol == "shardQueues" {
			shardQueueName = r.Body.Prop("name").Text()
		}
	}
	assert.Contains(t, shardQueueName, "storageAccountNames[(n / length(shardRoles)) % accountCount]", "shard k's queue is in account k mod accounts")
	assert.Contains(t, shardQueueName, "commandShards == 1 ? 'commands' : 'commands-${n / length(shardRoles)}'", "shard k's queue is commands-<k> (commands when one)")
	assert.Contains(t, shardQueueName, "shardRoles[n % length(shardRoles)].suffix", "the queue or its poison twin")

	has := func(gs []grant, g grant) bool { return slices.Contains(gs, g) }
	of := func(gs []grant, app string) []grant {
		var out []grant
		for _, g := range gs {
			if g.App == app {
				out = append(out, g)
			}
		}
		return out
	}

	// stream-service: nothing on storage.
	assert.Empty(t, of(tables, "stream-service"), "stream-service has no table role")
	assert.Empty(t, of(singleTables, "stream-service"), "stream-service has no table role")
	assert.Empty(t, of(queues, "stream-service"), "stream-service has no queue role")
	assert.Empty(t, of(streamTables, "stream-service"), "stream-service has no table role")
	assert.Empty(t, of(shards, "stream-service"), "stream-service has no queue role")
	assert.Empty(t, of(containers, "stream-service"), "stream-service has no blob role")
	// prism-api reads tables, writes only the users' notification settings,
	// and only sends commands.
	assert.Equal(t, []grant{{"prism-api", "Storage Table Data Reader", ""}}, of(tables, "prism-api"))
	assert.Equal(t, []grant{{"prism-api", "Storage Table Data Reader", ""}}, of(streamTables, "prism-api"))
	assert.Equal(t, []grant{{"readmodel-updater", "Storage Table Data Reader", ""}}, of(streamTables, "readmodel-updater"), "readmodel-updater reads the other accounts' events (gap fills)")
	assert.Equal(t, []grant{{"domain-service", "Storage Table Data Contributor", ""}}, of(streamTables, "domain-service"), "domain-service appends to the streams of every account")
	assert.ElementsMatch(t, []grant{
		{"prism-api", "Storage Table Data Contributor", "preferences"},
		{"prism-api", "Storage Table Data Contributor", "pushsubscriptions"},
	}, of(singleTables, "prism-api"))
	assert.Empty(t, of(queues, "prism-api"), "prism-api has no role on a queue but the command shards")
	assert.ElementsMatch(t, []grant{
		{"prism-api", "Storage Queue Data Message Sender", ""},
		{"prism-api", "Storage Queue Data Reader", ""},
	}, of(shards, "prism-api"), "prism-api sends to every command shard (and reads its properties: readiness)")
	// Who may put a message on a command shard: prism-api and the saga.
	var senders []string
	for _, g := range shards {
		if g.On == "" && (g.Role == "Storage Queue Data Message Sender" || g.Role == "Storage Queue Data Contributor") {
			senders = append(senders, g.App)
		}
	}
	assert.ElementsMatch(t, []string{"prism-api", "domain-service"}, senders, "only prism-api and the saga send commands")
	assert.Empty(t, of(shards, "readmodel-updater"), "readmodel-updater has no role on a command shard")
	for _, g := range queues {
		assert.NotContains(t, []string{"commands", "commands-poison"}, g.On, "the command queues' roles are shardRoles'")
	}
	assert.True(t, has(queues, grant{"readmodel-updater", "Storage Queue Data Contributor", "events-readmodel"}), "readmodel-updater consumes its queue")
	assert.ElementsMatch(t, []grant{
		{"domain-service", "Storage Queue Data Contributor", ""},
		{"domain-service", "Storage Queue Data Contributor", "-poison"},
	}, of(shards, "domain-service"), "domain-service consumes every command shard and moves its poison")
	// The shard leases: domain-service alone, on their one container.
	assert.Equal(t, []grant{{"domain-service", "Storage Blob Data Contributor", "prism-ownership"}}, containers, "only domain-service holds shard leases")
	for _, c := range containers {
		assert.Contains(t, forEachSource(t, all, "Microsoft.Storage/storageAccounts/blobServices/containers"), c.On, "the storage module creates %s", c.On)
	}
	// Every queue and table named exists, and every queue an app consumes
	// (with a -poison twin) is the app's to consume.
	created := forEachSource(t, all, "Microsoft.Storage/storageAccounts/queueServices/queues")
	for _, g := range queues {
		assert.Contains(t, created, g.On, "%s's role names a queue the storage module creates", g.App)
	}
	consumers := map[string]string{"deadlines": "domain-service", "events-saga": "domain-service",
		"events-readmodel": "readmodel-updater", "events-notifications": "readmodel-updater", "notification-deliveries": "readmodel-updater"}
	for _, q := range created {
		if strings.HasSuffix(q, "-poison") {
			continue
		}
		app, known := consumers[q]
		if assert.True(t, known, "queue %s: which app consumes it? (add it here and give that app its role)", q) {
			assert.True(t, has(queues, grant{app, "Storage Queue Data Contributor", q}), "%s consumes %s", app, q)
			assert.True(t, has(queues, grant{app, "Storage Queue Data Contributor", q + "-poison"}), "%s moves %s's poison", app, q)
		}
	}
	createdTables := forEachSource(t, all, "Microsoft.Storage/storageAccounts/tableServices/tables")
	for _, g := range singleTables {
		assert.Contains(t, createdTables, g.On, "%s's role names a table the storage module creates", g.App)
	}
	// Secrets: the Redis URL for every app; the Stripe key for domain-service only.
	for _, app := range serviceNames {
		assert.True(t, has(secrets, grant{app, "Key Vault Secrets User", "redis-url"}), "%s reads the Redis URL", app)
	}
	var stripeReaders []string
	for _, g := range secrets {
		assert.Equal(t, "Key Vault Secrets User", g.Role)
		if g.On == "stripe-api-key" {
			stripeReaders = append(stripeReaders, g.App)
		}
	}
	assert.Equal(t, []string{"domain-service"}, stripeReaders, "only domain-service reads the Stripe key")

	// The vault: RBAC (roles on secrets, not access policies), purge protection.
	vault := resourcesOfType(all, "Microsoft.KeyVault/vaults")
	require.Len(t, vault, 1)
	assert.Equal(t, "true", vault[0].Body.Prop("enableRbacAuthorization").Text())
	assert.Equal(t, "true", vault[0].Body.Prop("enablePurgeProtection").Text())
	var kvSecrets []string
	for _, r := range resourcesOfType(all, "Microsoft.KeyVault/vaults/secrets") {
		n, _ := r.Body.Prop("name").String()
		kvSecrets = append(kvSecrets, n)
	}
	assert.ElementsMatch(t, []string{"redis-url", "stripe-api-key"}, kvSecrets)

	// Storage: identities only, so no key at all.
	acct := resourcesOfType(all, "Microsoft.Storage/storageAccounts")
	require.Len(t, acct, 1)
	assert.Equal(t, "false", acct[0].Body.Prop("allowSharedKeyAccess").Text(), "shared-key access is off")
	for _, file := range all {
		for _, r := range file.ResourcesOfType("Microsoft.Storage/storageAccounts") {
			assert.NotContains(t, file.Src, r.Symbol+".listKeys(", "%s reads a storage account key", file.Path)
		}
	}
}

// assignedOver says whether f has a role assignment resource looping over
// range(0, … length(list)) with the given scope, its principal the app of
// element n mod length(list).
func assignedOver(f *BicepFile, list, scope string) bool {
	for _, r := range f.ResourcesOfType("Microsoft.Authorization/roleAssignments") {
		if strings.Contains(r.Head, "for n in range(0, ") && strings.Contains(r.Head, "length("+list+"))") &&
			strings.TrimSpace(r.Body.Prop("scope").Text()) == scope &&
			strings.Contains(r.Body.Prop("principalId").Text(), "identities[indexOf(apps, "+list+"[n % length("+list+")].app)]") &&
			strings.Contains(r.Body.Prop("properties").Prop("roleDefinitionId").Text(), list+"[n % length("+list+")].role") {
			return true
		}
	}
	return false
}

// TestRedisNeverEvictsSilently: idempotency records must never be evicted
// (a retried command would then be applied twice), so every Redis Prism
// runs on says noeviction: make up, docker-compose (TestComposeServices)
// and Azure.
func TestRedisNeverEvictsSilently(t *testing.T) {
	root := repoRoot(t)
	up := readFile(t, root, "scripts", "up")
	var line string
	for _, l := range strings.Split(up, "\n") {
		if strings.Contains(l, "redis-server --port") {
			line = l
		}
	}
	require.NotEmpty(t, line, "scripts/up starts redis-server")
	assert.Contains(t, line, "--maxmemory-policy noeviction")

	_, all := bicepFiles(t)
	cache := resourcesOfType(all, "Microsoft.Cache/redis")
	require.Len(t, cache, 1)
	// A quoted key, which Prop does not look into: read the object's text.
	conf := cache[0].Body.Prop("redisConfiguration").Text()
	assert.Regexp(t, `'maxmemory-policy'\s*:\s*'noeviction'`, conf)
}
