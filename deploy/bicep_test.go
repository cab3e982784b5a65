package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rule for infra/ (Azure Container Apps), checked by TestBicepApps:
//
//  1. Every environment variable a service reads (Settings) is set on its
//     container, and nothing it does not read is.
//  2. Secrets (REDIS_URL, and domain-service's PRISM_STRIPE_API_KEY) come
//     from Container Apps secrets (secretRef) that are Key Vault references
//     read with the app's own identity: no secret has a value in the
//     template. Storage is reached with the identity
//     (PRISM_STORAGE_AUTH=identity, no connection string), no app holds a
//     signing secret (PRISM_JWT_SECRET empty, an OIDC issuer set),
//     PRISM_DEV_MODE is 'false'; PRISM_HTTP_ADDR is the port the ingress and
//     probes use.
//  3. domain-service and readmodel-updater scale with KEDA azure-queue rules
//     (queueLength '5') on queues the storage module creates, their own main
//     queue among them, authenticated with the app's own identity: for
//     domain-service one rule per command shard, in the shard's account, and
//     none on deadlines (delayed commands waiting there are not work to scale
//     for); every event subscriber's queue exists; prism-api and
//     stream-service scale on HTTP concurrency and are the only apps with
//     (external) ingress, their ops port mapped inside the environment only.
//
// Least privilege (which identity holds which role) is TestLeastPrivilege's.

// resourceVersions are the resource types and API versions the templates may
// use: versions known to exist (there is no Bicep compiler here to catch a
// made-up one).
var resourceVersions = map[string]bool{
	"Microsoft.App/containerApps@2025-01-01":                               true,
	"Microsoft.KeyVault/vaults@2023-07-01":                                 true,
	"Microsoft.KeyVault/vaults/secrets@2023-07-01":                         true,
	"Microsoft.App/managedEnvironments@2024-03-01":                         true,
	"Microsoft.Storage/storageAccounts@2023-05-01":                         true,
	"Microsoft.Storage/storageAccounts/tableServices@2023-05-01":           true,
	"Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01":    true,
	"Microsoft.Storage/storageAccounts/queueServices@2023-05-01":           true,
	"Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01":    true,
	"Microsoft.Storage/storageAccounts/blobServices@2023-05-01":            true,
	"Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01": true,
	"Microsoft.Cache/redis@2024-03-01":                                     true,
	"Microsoft.OperationalInsights/workspaces@2023-09-01":                  true,
	"Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31":          true,
	"Microsoft.Authorization/roleAssignments@2022-04-01":                   true,
	"Microsoft.ContainerRegistry/registries@2023-07-01":                    true,
}

// bicepFiles parses infra/main.bicep and every module it names (one level:
// the modules name none).
func bicepFiles(t *testing.T) (main *BicepFile, all []*BicepFile) {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "infra")
	main, err := ParseBicepFile(filepath.Join(dir, "main.bicep"))
	require.NoError(t, err)
	all = append(all, main)
	for _, m := range main.Modules() {
		f, err := ParseBicepFile(filepath.Join(dir, filepath.FromSlash(m.Path)))
		require.NoError(t, err, "module %s", m.Symbol)
		assert.Empty(t, f.Modules(), "%s: modules are one level deep", m.Path)
		all = append(all, f)
	}
	return main, all
}

func resourcesOfType(all []*BicepFile, typ string) []Resource {
	var out []Resource
	for _, f := range all {
		for _, r := range f.ResourcesOfType(typ) {
			if !r.Existing {
				out = append(out, r)
			}
		}
	}
	return out
}

func TestBicepResources(t *testing.T) {
	main, all := bicepFiles(t)
	require.NotEmpty(t, main.Modules(), "main.bicep is made of modules")

	for _, f := range all {
		for _, r := range f.Resources() {
			assert.True(t, resourceVersions[r.Type+"@"+r.Version], "%s: resource %s uses %s@%s, not a known type/API version", f.Path, r.Symbol, r.Type, r.Version)
		}
	}
	for _, typ := range []string{
		"Microsoft.Storage/storageAccounts",
		"Microsoft.Cache/redis",
		"Microsoft.OperationalInsights/workspaces",
		"Microsoft.App/managedEnvironments",
		"Microsoft.ManagedIdentity/userAssignedIdentities", // one declaration, one identity per app (TestLeastPrivilege)
		"Microsoft.KeyVault/vaults",
	} {
		assert.Len(t, resourcesOfType(all, typ), 1, "one %s", typ)
	}
	assert.Len(t, resourcesOfType(all, "Microsoft.App/containerApps"), len(services), "one container app per service")

	// Tables and queues.
	tables := forEachSource(t, all, "Microsoft.Storage/storageAccounts/tableServices/tables")
	assert.Subset(t, tables, []string{"events", "snapshots", "projections", "carts", "orders", "products"})
	queues := forEachSource(t, all, "Microsoft.Storage/storageAccounts/queueServices/queues")
	assert.Subset(t, queues, []string{"deadlines", "deadlines-poison", "events-readmodel", "events-readmodel-poison",
		"events-saga", "events-saga-poison", "events-notifications", "events-notifications-poison"})
	for _, q := range queues {
		if !strings.HasSuffix(q, "-poison") {
			assert.Contains(t, queues, q+"-poison", "every queue has its poison twin")
		}
	}
	checkShardQueues(t, main, all)
	containers := forEachSource(t, all, "Microsoft.Storage/storageAccounts/blobServices/containers")
	assert.Contains(t, containers, "prism-ownership", "the container of the shard leases")

}

// forEachSource returns the names resources of type typ are declared for:
// the literal lists of `[for x in <var>: …]` resources and the literal names
// of single ones, `existing` references left out (a loop over computed names, such as the command shards',
// contributes nothing here: checkShardQueues reads it).
func forEachSource(t *testing.T, all []*BicepFile, typ string) []string {
	t.Helper()
	var out []string
	found := false
	for _, f := range all {
		for _, r := range f.ResourcesOfType(typ) {
			if r.Existing {
				continue // a reference (identity.bicep's role scopes), not a declaration
			}
			found = true
			fields := strings.Fields(strings.NewReplacer("[", " ", ":", " ").Replace(r.Head))
			if len(fields) >= 4 && fields[0] == "for" && fields[2] == "in" {
				v := f.Var(fields[3])
				require.True(t, v.OK(), "%s: var %s", f.Path, fields[3])
				if !computed(v) {
					out = append(out, v.Strings()...)
				}
				continue
			}
			if name, ok := r.Body.Prop("name").String(); ok {
				out = append(out, name)
			}
		}
	}
	require.True(t, found, "no %s declared", typ)
	return out
}

// checkShardQueues: the storage module is deployed once per account and
// declares the queues of the command shards that live in it, each with its
// poison twin, named commands-<k> (commands when there is one shard).
func checkShardQueues(t *testing.T, main *BicepFile, all []*BicepFile) {
	t.Helper()
	var storageModule Module
	for _, m := range main.Modules() {
		if strings.HasSuffix(m.Path, "storage.bicep") {
			storageModule = m
		}
	}
	require.NotEmpty(t, storageModule.Symbol, "main.bicep deploys modules/storage.bicep")
	params := storageModule.Body.Prop("params")
	for _, p := range []string{"accountIndex", "accountCount", "commandShards"} {
		assert.Contains(t, params.Keys(), p, "the storage module learns %s", p)
	}
	var shardVar string
	var names []string
	for _, f := range all {
		for _, r := range f.ResourcesOfType("Microsoft.Storage/storageAccounts/queueServices/queues") {
			fields := strings.Fields(strings.NewReplacer("[", " ", ":", " ").Replace(r.Head))
			if len(fields) < 4 || fields[0] != "for" || fields[2] != "in" || !computed(f.Var(fields[3])) {
				continue
			}
			shardVar = fields[3]
			names = append(names, r.Body.Prop("name").Text())
			v := f.Var(shardVar).Text()
			assert.Contains(t, v, "'commands-${", "%s: shard queues are commands-<k>", f.Path)
			assert.Contains(t, v, "'commands'", "%s: one shard is the single queue commands", f.Path)
			assert.Contains(t, v, "accountIndex", "%s: an account holds its own shards", f.Path)
		}
	}
	require.NotEmpty(t, shardVar, "the storage module declares the command shards' queues")
	assert.ElementsMatch(t, []string{fields1(names), "'${" + fields1(names) + "}-poison'"}, names, "each shard queue and its poison twin")
}

// computed reports whether a var is a for-expression (names computed at
// deployment) rather than a literal list.
func computed(v Value) bool { return strings.HasPrefix(strings.TrimSpace(v.Text()), "[for") }

// fields1 is the loop variable a shard queue resource is named by.
func fields1(names []string) string {
	for _, n := range names {
		if !strings.Contains(n, "poison") {
			return n
		}
	}
	return ""
}

// containerApp is what TestBicepApps reads of one Container App.
type containerApp struct {
	file     *BicepFile
	res      Resource
	service  string
	env      map[string]EnvVar
	secrets  []string
	ingress  Value
	scale    Value
	probes   Value
	imageRaw string
}

func containerApps(t *testing.T, all []*BicepFile) map[string]containerApp {
	t.Helper()
	apps := map[string]containerApp{}
	for _, f := range all {
		for _, r := range f.ResourcesOfType("Microsoft.App/containerApps") {
			if r.Existing {
				continue
			}
			containers := r.Body.Prop("containers")
			require.True(t, containers.OK(), "%s: %s has containers", f.Path, r.Symbol)
			objs := containers.Objects()
			require.Len(t, objs, 1, "%s: %s runs one container", f.Path, r.Symbol)
			name, ok := objs[0].Prop("name").String()
			require.True(t, ok, "%s: %s: the container's name is a literal (it names the service)", f.Path, r.Symbol)
			env, err := f.EnvList(objs[0].Prop("env"))
			require.NoError(t, err)
			byName := map[string]EnvVar{}
			for _, e := range env {
				assert.NotContains(t, byName, e.Name, "%s: %s sets %s twice", f.Path, name, e.Name)
				byName[e.Name] = e
			}
			app := containerApp{file: f, res: r, service: name, env: byName,
				ingress: r.Body.Prop("ingress"), scale: r.Body.Prop("scale"),
				probes: objs[0].Prop("probes"), imageRaw: objs[0].Prop("image").Text()}
			secrets := r.Body.Prop("secrets")
			if v := f.Var(secrets.Text()); v.OK() {
				secrets = v
			}
			for _, o := range secrets.Objects() {
				if n, ok := o.Prop("name").String(); ok {
					app.secrets = append(app.secrets, n)
				}
			}
			apps[name] = app
		}
	}
	return apps
}

func TestBicepApps(t *testing.T) {
	_, all := bicepFiles(t)
	apps := containerApps(t, all)
	queues := forEachSource(t, all, "Microsoft.Storage/storageAccounts/queueServices/queues")

	for _, s := range services {
		t.Run(s.Name, func(t *testing.T) {
			app, ok := apps[s.Name]
			require.True(t, ok, "a container app runs %s", s.Name)
			assert.Contains(t, app.imageRaw, "/"+s.Name+":", "image")
			own := fmt.Sprintf("identityIds['%s']", s.Name)
			identity := app.res.Body.Prop("identity")
			assert.Contains(t, identity.Prop("userAssignedIdentities").Text(), own, "runs as its own user-assigned identity")
			assert.Equal(t, fmt.Sprintf("identityClientIds['%s']", s.Name), app.env["AZURE_CLIENT_ID"].Value, "DefaultAzureCredential picks its own identity")

			// 1. every setting it reads, nothing else.
			reads := serviceSettings(t, s)
			for _, name := range reads {
				assert.Contains(t, app.env, name, "%s reads %s but its container app does not set it (%s)", s.Name, name, app.file.Path)
			}
			for name := range app.env {
				assert.Contains(t, reads, name, "%s: the container app sets %s, which %s does not read", app.file.Path, name, s.Name)
			}

			// 2. secrets and the values that must not be defaults.
			secretEnv := []string{"REDIS_URL"}
			if s.Name == "domain-service" {
				secretEnv = append(secretEnv, "PRISM_STRIPE_API_KEY")
				assert.Equal(t, "stripe", app.env["PRISM_PAYMENT_PROVIDER"].Value, "real payments")
				assert.Equal(t, "", app.env["PRISM_STRIPE_API_BASE"].Value, "Stripe itself, not a mock")
			}
			for _, name := range secretEnv {
				e := app.env[name]
				if assert.NotEmpty(t, e.SecretRef, "%s comes from a Container Apps secret", name) {
					assert.Contains(t, app.secrets, e.SecretRef, "%s: secret %s is declared on the app", name, e.SecretRef)
				}
			}
			for _, sec := range app.res.Body.Prop("secrets").Objects() {
				name, _ := sec.Prop("name").String()
				assert.False(t, sec.Prop("value").OK(), "secret %s: a Key Vault reference, not a value in the template", name)
				assert.True(t, sec.Prop("keyVaultUrl").OK(), "secret %s is a Key Vault reference", name)
				assert.Equal(t, own, sec.Prop("identity").Text(), "secret %s is read with the app's own identity", name)
			}
			assert.Equal(t, EnvVar{Name: "PRISM_STORAGE_AUTH", Value: "identity", Literal: true}, app.env["PRISM_STORAGE_AUTH"], "storage with Entra ID")
			for _, name := range []string{"AZURE_STORAGE_CONNECTION_STRING", "PRISM_JWT_SECRET"} {
				assert.Equal(t, EnvVar{Name: name, Value: "", Literal: true}, app.env[name], "%s: no key and no signing secret in Azure", name)
			}
			assert.Equal(t, "oidcIssuer", app.env["PRISM_OIDC_ISSUER"].Value, "tokens from the OIDC provider")
			assert.Equal(t, "oidcAudience", app.env["PRISM_OIDC_AUDIENCE"].Value)
			assert.Equal(t, EnvVar{Name: "PRISM_DEV_MODE", Value: "false", Literal: true}, app.env["PRISM_DEV_MODE"], "never dev mode in Azure")
			assert.Equal(t, fmt.Sprintf(":%d", s.Port), app.env["PRISM_HTTP_ADDR"].Value)
			for _, p := range app.probes.Objects() {
				assert.Equal(t, fmt.Sprint(s.Port), p.Prop("port").Text(), "probe port")
			}
			var probePaths []string
			for _, p := range app.probes.Objects() {
				path, _ := p.Prop("path").String()
				probePaths = append(probePaths, path)
			}
			assert.Subset(t, probePaths, []string{"/healthz", "/readyz"}, "liveness and readiness probes")

			// 3. scaling and ingress.
			require.True(t, app.scale.OK(), "scale")
			rules := app.scale.Prop("rules").Objects()
			for _, id := range app.scale.Prop("rules").Identifiers() {
				if v := app.file.Var(id); v.OK() && computed(v) {
					rules = append(rules, v.Objects()...) // one rule per element of a loop
				}
			}
			require.NotEmpty(t, rules, "scale rules")
			assert.Equal(t, "1", app.scale.Prop("minReplicas").Text(), "at least one warm replica")
			assert.True(t, app.scale.Prop("maxReplicas").OK(), "maxReplicas")

			switch s.Name {
			case "domain-service", "readmodel-updater":
				// One KEDA azure-queue rule per queue it consumes; its main
				// queue must be among them.
				queue := "events-readmodel"
				if s.Name == "domain-service" {
					queue = app.env["PRISM_COMMANDS_QUEUE"].Value
					assert.Equal(t, "commands", queue)
					assert.Equal(t, "string(commandShards)", app.env["PRISM_COMMAND_SHARDS"].Value, "the shards the KEDA rules cover")
					assert.Equal(t, "leases", app.env["PRISM_SHARD_OWNERSHIP"].Value)
					for _, sub := range strings.Split(app.env["PRISM_EVENT_SUBSCRIBERS"].Value, ",") {
						assert.Contains(t, queues, "events-"+strings.TrimSpace(sub), "subscriber %s's queue is created by the storage module", sub)
					}
				}
				var scaled []string
				for _, rule := range rules {
					custom := rule.Prop("custom")
					require.True(t, custom.OK(), "a KEDA (custom) scale rule: %s", rule.Text())
					typ, _ := custom.Prop("type").String()
					assert.Equal(t, "azure-queue", typ)
					meta := custom.Prop("metadata")
					ql, _ := meta.Prop("queueLength").String()
					assert.Equal(t, "5", ql, "queueLength '5'")
					assert.True(t, meta.Prop("accountName").OK(), "accountName")
					assert.Equal(t, own, custom.Prop("identity").Text(), "the scaler authenticates with the app's own identity")
					assert.False(t, custom.Prop("auth").OK(), "no secret for the scaler")
					qn, literal := meta.Prop("queueName").String()
					if !literal {
						// The rule of every command shard k: its queue, in
						// its account.
						expr := meta.Prop("queueName").Text()
						assert.Contains(t, expr, "'"+queue+"-${k}'", "a rule per shard %s-<k>", queue)
						assert.Contains(t, expr, "'"+queue+"'", "one shard is the single queue %s", queue)
						assert.Contains(t, meta.Prop("accountName").Text(), "[k % length(", "shard k's rule reads account k mod accounts")
						scaled = append(scaled, queue)
						continue
					}
					assert.Contains(t, queues, qn, "the queue is created by the storage module")
					scaled = append(scaled, qn)
				}
				assert.Contains(t, scaled, queue, "%s scales on its own queue", s.Name)
				assert.NotContains(t, scaled, "deadlines", "deadlines waiting hidden are no work to scale for (kedacore/keda#4432)")
				// Reachable inside the environment only (the operations
				// console calls its admin routes), never from the internet.
				require.True(t, app.ingress.OK(), "%s has internal ingress", s.Name)
				assert.Equal(t, "false", app.ingress.Prop("external").Text(), "%s's ingress is internal only", s.Name)
				assert.Equal(t, fmt.Sprint(s.Port), app.ingress.Prop("targetPort").Text(), "%s's ingress targets its port", s.Name)
			default:
				require.Len(t, rules, 1, "one scale rule")
				http := rules[0].Prop("http")
				require.True(t, http.OK(), "an HTTP concurrency scale rule")
				assert.True(t, http.Prop("concurrentRequests").OK(), "concurrentRequests")
				require.True(t, app.ingress.OK(), "%s has ingress", s.Name)
				assert.Equal(t, "true", app.ingress.Prop("external").Text(), "external ingress")
				assert.Equal(t, fmt.Sprint(s.Port), app.ingress.Prop("targetPort").Text())
				ops := app.ingress.Prop("additionalPortMappings").Objects()
				require.Len(t, ops, 1, "the ops port is mapped")
				assert.Equal(t, fmt.Sprint(s.Port+1000), ops[0].Prop("targetPort").Text())
				assert.Equal(t, "false", ops[0].Prop("external").Text(), "metrics and readiness details stay inside the environment")
				assert.Equal(t, fmt.Sprintf(":%d", s.Port+1000), app.env["PRISM_OPS_ADDR"].Value)
			}
		})
	}
}

// TestBicepParameters checks main.parameters.json against main.bicep's
// parameters, and every module call against the module's parameters.
func TestBicepParameters(t *testing.T) {
	main, _ := bicepFiles(t)
	dir := filepath.Join(repoRoot(t), "infra")

	declared := map[string]Param{}
	for _, p := range main.Params() {
		declared[p.Name] = p
	}
	assert.NotContains(t, declared, "jwtSecret", "no signing secret is deployed")
	require.Contains(t, declared, "stripeApiKey")
	assert.True(t, declared["stripeApiKey"].Secure, "stripeApiKey is @secure()")

	var pf struct {
		Schema     string                     `json:"$schema"`
		Parameters map[string]json.RawMessage `json:"parameters"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "main.parameters.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &pf), "main.parameters.json")
	assert.Contains(t, pf.Schema, "deploymentParameters.json")
	for name := range pf.Parameters {
		if assert.Contains(t, declared, name, "main.parameters.json sets an undeclared parameter") {
			assert.False(t, declared[name].Secure, "secure parameter %s does not belong in a file: pass it on the command line", name)
		}
	}
	for name, p := range declared {
		if !p.HasDefault && !p.Secure {
			assert.Contains(t, pf.Parameters, name, "required parameter %s is missing from main.parameters.json", name)
		}
	}

	for _, m := range main.Modules() {
		f, err := ParseBicepFile(filepath.Join(dir, filepath.FromSlash(m.Path)))
		require.NoError(t, err)
		passed := m.Body.Prop("params").Keys()
		params := map[string]Param{}
		for _, p := range f.Params() {
			params[p.Name] = p
		}
		for _, k := range passed {
			assert.Contains(t, params, k, "main.bicep passes %s to %s, which does not declare it", k, m.Path)
		}
		for name, p := range params {
			if !p.HasDefault {
				assert.Contains(t, passed, name, "main.bicep does not pass required parameter %s to %s", name, m.Path)
			}
		}
	}
}
