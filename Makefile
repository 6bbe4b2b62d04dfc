# ctp-connector — developer entry points. `make help` lists them.
#
# Node: every target runs with Node >= 24. When the system's Node is older, Node 24 LTS is installed from
# the npm registry (the platform package `node-<os>-<arch>`) into .tools/ and put first on PATH.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

NODE_VERSION ?= 24.21.0
TOOLS_DIR := $(CURDIR)/.tools
DEV_DIR := $(CURDIR)/.dev

# Go toolchains installed in /usr/local/go are not always on PATH.
export PATH := $(PATH):/usr/local/go/bin

SYSTEM_NODE_OK := $(shell node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' >/dev/null 2>&1 && echo yes)
ifeq ($(SYSTEM_NODE_OK),yes)
NODE := $(shell command -v node)
else
NODE_OS := $(shell uname -s | tr A-Z a-z)
NODE_ARCH := $(subst aarch64,arm64,$(subst x86_64,x64,$(shell uname -m)))
NODE_PKG := node-$(NODE_OS)-$(NODE_ARCH)
NODE_DIR := $(TOOLS_DIR)/node-$(NODE_VERSION)
NODE := $(NODE_DIR)/node_modules/$(NODE_PKG)/bin/node
export PATH := $(dir $(NODE)):$(PATH)
endif

NPM_STAMP := node_modules/.package-lock.json
# One jest process: the integration tests share the clusters of the global setup, and the machines have 2 cores.
JEST := $(NODE) --experimental-vm-modules node_modules/jest/bin/jest.js --runInBand
JEST_RESULTS := $(CURDIR)/.jest-results.json

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(NODE):
	@echo "system node is older than 24: installing Node $(NODE_VERSION) into $(NODE_DIR)"
	mkdir -p $(NODE_DIR)
	npm install --no-save --no-package-lock --ignore-scripts --prefix $(NODE_DIR) $(NODE_PKG)@$(NODE_VERSION)
	@$(NODE) --version

.PHONY: node
node: $(NODE) ## make sure Node >= 24 is available (downloads it into .tools/ if needed)

# `npm install` rather than `npm ci`: it follows the lock file too, but tolerates optional platform packages
# (other OSes' native builds) that a registry mirror does not carry, which `npm ci` rejects as out of sync.
$(NPM_STAMP): package.json package-lock.json | $(NODE)
	npm install --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## install npm dependencies

.PHONY: tools
tools: ## build the pinned etcd, kube-apiserver, kube-controller-manager, kubectl, helm, crossplane, kustomize, Argo CD and Flux (cached in .tools/)
	TOOLS_DIR=$(TOOLS_DIR) e2e/toolchain/build.sh

.PHONY: build
build: deps ## compile TypeScript to dist/
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.build.json

.PHONY: crds
crds: deps ## regenerate crds/, the Helm chart's copy and docs/api.md (the API reference) from the zod schema
	$(NODE) operator/src/api/write-crds.ts

.PHONY: chart-files
chart-files: ## copy config/observability's alerts and dashboard into the Helm chart
	cp config/observability/alerts.yaml config/observability/dashboard.json charts/ctp-connector/files/

.PHONY: chart-lint
chart-lint: tools ## helm lint --strict the chart with its defaults and with each charts/ctp-connector/ci values file
	$(TOOLS_DIR)/bin/helm lint --strict charts/ctp-connector
	for f in charts/ctp-connector/ci/*.yaml; do $(TOOLS_DIR)/bin/helm lint --strict charts/ctp-connector -f $$f; done

IMAGE ?= ctp-connector:dev
.PHONY: image
image: ## build the container image with Docker (IMAGE=ctp-connector:dev); not part of make test
	docker build -t $(IMAGE) .

.PHONY: typecheck
typecheck: deps ## type-check all TypeScript
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json --noEmit

.PHONY: lint
lint: deps ## eslint and prettier
	$(NODE) node_modules/eslint/bin/eslint.js .
	$(NODE) node_modules/prettier/bin/prettier.cjs --check .

.PHONY: test-unit
test-unit: deps ## unit tests (pure logic, no cluster)
	$(JEST) --selectProjects unit

.PHONY: test-integration
test-integration: deps tools ## integration and end-to-end tests against real local clusters
	$(JEST) --selectProjects integration

.PHONY: test
test: typecheck lint tools ## typecheck, lint, unit, integration and end-to-end tests
	rm -f $(JEST_RESULTS)
	status=0; $(JEST) $(if $(CI),--ci) --json --outputFile=$(JEST_RESULTS) || status=$$?; \
	  if [ -f $(JEST_RESULTS) ]; then $(NODE) e2e/jest/summary.ts $(JEST_RESULTS) || status=1; fi; \
	  exit $$status

.PHONY: chaos
chaos: deps tools ## the chaos suite (a few minutes): faults under a write load with exact accounting; also part of make test
	$(JEST) e2e/chaos.test.ts e2e/finalization.test.ts e2e/leader-election.test.ts --selectProjects integration

.PHONY: e2e-kind
e2e-kind: deps ## the end-to-end suite on kind clusters with the connector from its image (needs Docker and kind)
	@command -v docker >/dev/null && command -v kind >/dev/null || { echo "make e2e-kind needs docker and kind on PATH" >&2; exit 1; }
	CTP_E2E_PROVIDER=kind $(JEST) --selectProjects integration

.PHONY: bench
bench: deps tools ## benchmark on local clusters (~15-20 min): writes bench/results/<date>.{json,md,svg}; BENCH_FLAGS=--help
	$(NODE) bench/run.ts $(BENCH_FLAGS)

.PHONY: bench-smoke
bench-smoke: deps tools ## the benchmark with tiny counts on its own clusters (make test runs it as e2e/bench-smoke.test.ts)
	out=$$(mktemp -d) && $(NODE) bench/run.ts --smoke --out "$$out" && rm -rf "$$out"

.PHONY: dev
dev: deps tools ## run an app cluster and a control-plane cluster locally until Ctrl-C
	$(NODE) e2e/cli.ts dev --dir $(DEV_DIR)

.PHONY: dev-down
dev-down: ## stop what `make dev` started and remove its state
	$(NODE) e2e/cli.ts down --dir $(DEV_DIR)

.PHONY: clean
clean: ## remove build output (keeps the cached tools)
	rm -rf dist coverage $(DEV_DIR)
