# Prism: `make up` starts the local stack, `make test` runs every test.
# Both install what is missing first: redis-server, curl and Node.js via
# apt-get, the pinned Azurite via npm ci, Mailpit (the local SMTP server,
# built once with go install into a cache outside the repo), Go modules at
# the versions in go.sum; the tests also
# need docker-compose (validates docker-compose.yml), chromium (the
# storefront and console tests drive it headless), promtool (from Debian's
# prometheus package: checks and unit-tests infra/prometheus) and stripe-mock
# (the Stripe adapter's tests; go install of a pinned version, like Mailpit).

SHELL := /bin/bash
MODULES := shared prism-api domain-service readmodel-updater stream-service e2e deploy prismctl examples/seats
SERVICES := prism-api domain-service readmodel-updater stream-service
PKGS := github.com/prism-es/prism/...
GO ?= go
export GOFLAGS ?= -buildvcs=false
# Tools built once with go install into a cache kept across clones, one
# directory per pinned version (shared/testenv looks for them there too):
# Mailpit (about 4 minutes on 2 CPUs; scripts/up and the tests run it) and
# stripe-mock (the Stripe adapter's tests start it).
MAILPIT_VERSION := v1.33.1
STRIPE_MOCK_VERSION := v0.203.0
PRISM_TOOLS ?= $(HOME)/.cache/prism-tools
export PRISM_MAILPIT_BIN ?= $(PRISM_TOOLS)/mailpit-$(MAILPIT_VERSION)/mailpit
export PRISM_STRIPE_MOCK_BIN ?= $(PRISM_TOOLS)/stripe-mock-$(STRIPE_MOCK_VERSION)/stripe-mock

.PHONY: up test deps test-deps build vet fmt-check modules-check ci clean help catalog bench chaos profile

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

up: deps build ## Start Azurite, Redis, Mailpit and all four services (REPLICAS=n domain-service replicas, default 2; ACCOUNTS=m storage accounts, default 1).
	@scripts/up

test: test-deps ## go vet, then every test: unit, contract (private Azurite + Redis), whole stack, Chromium.
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)

# apt_install installs Debian packages (root): $(call apt_install,pkg ...).
apt_install = (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null) \
	|| { echo "could not install $(1) with apt-get (are you root?)" >&2; exit 1; }

deps: $(PRISM_MAILPIT_BIN) ## Install redis-server, curl, Node.js, the pinned Azurite, Mailpit and the Go modules when missing.
	@command -v redis-server >/dev/null || { echo "installing redis-server"; $(call apt_install,redis-server); }
	@command -v curl >/dev/null || { echo "installing curl (scripts/up probes /readyz with it)"; $(call apt_install,curl); }
	@command -v node >/dev/null || { echo "installing nodejs (Azurite runs on it)"; $(call apt_install,nodejs); }
	@command -v npm >/dev/null || { echo "installing npm"; $(call apt_install,npm); }
	@[ -x azurite/node_modules/.bin/azurite ] || { echo "installing Azurite (npm ci)"; \
		(cd azurite && npm ci --no-audit --no-fund --loglevel=error); }
	@for m in $(MODULES); do (cd $$m && $(GO) mod download); done

# Only when missing: the file is the target.
$(PRISM_MAILPIT_BIN):
	@echo "building Mailpit $(MAILPIT_VERSION) once into $(@D) (go install, about 4 minutes on 2 CPUs)"
	@mkdir -p $(@D) && GOBIN=$(@D) $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

$(PRISM_STRIPE_MOCK_BIN):
	@echo "installing stripe-mock $(STRIPE_MOCK_VERSION) once into $(@D) (go install)"
	@mkdir -p $(@D) && GOBIN=$(@D) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

test-deps: deps $(PRISM_STRIPE_MOCK_BIN) ## What make test needs besides: docker-compose, chromium, promtool and stripe-mock.
	@command -v docker-compose >/dev/null || { echo "installing docker-compose"; $(call apt_install,docker-compose); }
	@command -v chromium >/dev/null || { echo "installing chromium (the browser test drives it headless)"; $(call apt_install,chromium); }
	@command -v promtool >/dev/null || { echo "installing prometheus (promtool checks and unit-tests the alert rules)"; $(call apt_install,prometheus); }

build: ## Build the service binaries and prismctl (the CLI) into bin/.
	@mkdir -p bin
	@for s in $(SERVICES); do $(GO) build -o bin/$$s ./$$s/cmd/$$s || exit 1; done
	@$(GO) build -o bin/prismctl ./prismctl/cmd/prismctl

vet: ## go vet every module.
	$(GO) vet $(PKGS)

fmt-check: ## Fail if gofmt would change anything.
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

modules-check: ## Build and vet each module on its own (GOWORK=off), as a consumer outside the workspace would.
	@for m in $(MODULES); do echo "GOWORK=off $$m"; (cd $$m && GOWORK=off $(GO) build ./... && GOWORK=off $(GO) vet ./...) || exit 1; done

ci: fmt-check modules-check test ## What .ci/run does.

clean: ## Remove binaries and local stack data.
	rm -rf bin .run

catalog: ## Regenerate docs/events.md from the event schemas in shared/eventcatalog/schemas.
	$(GO) run ./shared/eventcatalog/cmd/eventsdoc > docs/events.md

bench: deps ## Measure throughput, latency, rehydration, scaling and SSE fan-out on a private stack (BENCH_FLAGS="--json" etc.).
	@$(GO) run ./e2e/cmd/prism-bench $(BENCH_FLAGS)

profile: deps ## CPU profiles of every service under full load (bench's pipeline phase), written to profiles/ with the top of each printed.
	@$(GO) run ./e2e/cmd/prism-bench --phases pipeline --profile profiles $(BENCH_FLAGS)

chaos: test-deps ## The chaos suite at full size: kills, restarts, races, hostile input, shard owners paused and killed (a smaller run is part of make test).
	PRISM_CHAOS=full $(GO) test -count=1 -timeout 30m -v -run 'Test(HotCart|ReplicaKilled|OneKey|RedisAndAzurite|Hostile|SSEResume|Poison|AnAmbiguousEnqueue|RedisOutageUnderLoad|SlowAndResetting|ShipRacing)' github.com/prism-es/prism/e2e/...
	PRISM_CHAOS=full $(GO) test -count=1 -timeout 30m -v -run 'TestNeverTwoOwnersAtOnce' github.com/prism-es/prism/shared/ownership
