# vault: the two commands a newcomer needs are `make demo` and `make check` (see README.md).
# Both install what they need first (scripts/deps.sh), as root on Debian 12.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(CURDIR)/bin/tools:$(PATH)
export CGO_ENABLED := 0
GO ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
CROSS := linux/amd64 linux/arm64 freebsd/amd64

.PHONY: all deps build cross lint test fuzz e2e lab smoke check demo bench clean

all: build

deps:
	@bash scripts/deps.sh

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/vault ./cmd/vault

cross:
	@set -e; for t in $(CROSS); do \
		os=$${t%/*}; arch=$${t#*/}; \
		echo "build $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/vault-$$os-$$arch ./cmd/vault; \
		GOOS=$$os GOARCH=$$arch $(GO) vet ./cmd/... ./conf/... ./zfs/... ./policy/... ./prune/... ./puller/... ./privdrop/... ./sneakernet/... ./report/... ./state/... ./ledger/... ./daemon/... ./serve/... ./syslogger/... ./shellword/... ./sshx/... ./zpool/... ./bytefmt/...; \
	done

bin/tools/staticcheck:
	GOBIN=$(CURDIR)/bin/tools $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: bin/tools/staticcheck
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt would change:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags lab ./...
	staticcheck ./...
	staticcheck -tags lab ./...
	@if command -v shellcheck >/dev/null; then echo "shellcheck -s sh dist/vault.rc"; shellcheck -s sh dist/vault.rc; \
	else echo "lint: no shellcheck, dist/vault.rc not checked (make deps installs it)"; fi
	@if command -v mandoc >/dev/null; then echo "mandoc -Tlint -Wwarning man/*.[1-9]"; mandoc -Tlint -Wwarning man/*.[1-9]; \
	else echo "lint: no mandoc, the man pages not checked (make deps installs it)"; fi

# Unit tests with the race detector (which needs cgo, unlike the product build).
test:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

# A short run of every fuzz target, beyond the seed corpora that `test` already runs.
fuzz:
	@bash scripts/fuzz.sh 15s

lab:
	$(GO) run ./lab/cmd/vault-lab image

# The real-ZFS tests: one guest boot per test package (built only with the lab tag).
e2e: lab
	$(GO) test -tags lab -count=1 -parallel 4 -timeout 75m -v ./e2e/...

# The smoke subset of the lab on one OpenZFS track (VAULT_LAB_ZFS=2.1, 2.3 or 2.4): a full and
# incremental pull, resume, bootstrap and the daemon's drop, the append-only delegation and prune worker, an
# import, a prune.
SMOKE := TestLabPullTree|TestLabPullResumesAfterKill|TestLabDaemon|TestLabAppendOnlyDaemon|TestLabSneakernet|TestLabPruneRailsHold|TestLabZFSVersion
smoke:
	$(GO) run ./lab/cmd/vault-lab image
	$(GO) test -tags lab -count=1 -parallel 5 -timeout 40m -v -run '^($(SMOKE))$$' ./e2e/...

check: deps lint test e2e

demo: deps lab
	$(GO) run ./lab/cmd/vault-lab demo

# Go benchmarks natively (planners at scale, stream copy, SSH transport vs OpenSSH), then the lab's
# side-by-side pull of one incremental by vault, a bare ssh|zfs pipe and syncoid.
bench: lab
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...
	$(GO) test -tags lab -run '^$$' -bench . -benchtime=1x -timeout 30m ./e2e/

clean:
	rm -rf bin
