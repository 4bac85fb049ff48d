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

.PHONY: all deps build cross lint test fuzz e2e lab smoke check demo bench clean install uninstall package

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
		GOOS=$$os GOARCH=$$arch $(GO) vet ./cmd/... ./conf/... ./zfs/... ./policy/... ./prune/... ./puller/... ./privdrop/... ./sneakernet/... ./report/... ./state/... ./ledger/... ./daemon/... ./serve/... ./syslogger/... ./shellword/... ./sshx/... ./zpool/... ./bytefmt/... ./props/...; \
	done

bin/tools/staticcheck:
	GOBIN=$(CURDIR)/bin/tools $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: bin/tools/staticcheck
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt would change:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags lab ./...
	staticcheck ./...
	staticcheck -tags lab ./...
	@bash scripts/purity.sh
	@if command -v shellcheck >/dev/null; then echo "shellcheck -s sh dist/vault.rc dist/vault.periodic"; shellcheck -s sh dist/vault.rc dist/vault.periodic; \
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

# The real-ZFS tests: one guest boot per test package (built only with the lab tag), one package at
# a time (-p 1): two guests at once would share the two cores and slow the timing-bound tests.
e2e: lab
	$(GO) test -tags lab -count=1 -p 1 -parallel 4 -timeout 75m -v ./e2e/...

# The smoke subset of the lab on one OpenZFS track (VAULT_LAB_ZFS=2.1, 2.3 or 2.4): a full and
# incremental pull, resume, bootstrap and the daemon's drop, the append-only delegation and prune worker, an
# import, a prune.
SMOKE := TestLabPullTree|TestLabPullResumesAfterKill|TestLabDaemon|TestLabAppendOnlyDaemon|TestLabSneakernet|TestLabPruneRailsHold|TestLabZFSVersion
smoke:
	$(GO) run ./lab/cmd/vault-lab image
	$(GO) test -tags lab -count=1 -parallel 5 -timeout 40m -v -run '^($(SMOKE))$$' ./e2e/...

# The demo is the README's main job: check runs it so it cannot rot.
check: deps lint test e2e demo

demo: deps lab
	$(GO) run ./lab/cmd/vault-lab demo

# Go benchmarks natively (planners at scale, stream copy, SSH transport vs OpenSSH), then the lab's
# side-by-side pull of one incremental by vault, a bare ssh|zfs pipe and syncoid.
bench: lab
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...
	$(GO) test -tags lab -run '^$$' -bench . -benchtime=1x -timeout 30m ./e2e/

clean:
	rm -rf bin

# make install: the binary, the man pages, the service file and an annotated example configuration,
# laid out for the operating system (uname -s, or GOOS=freebsd / GOOS=linux). PREFIX defaults to
# /usr/local, DESTDIR (a staging root) to none. It never writes a configuration: the example goes
# beside the documentation (Linux) or as the FreeBSD ports' .sample, and the operator copies it.
# The binary goes to sbin (a daemon root starts); the unit's ExecStart and the rc.d script's
# vault_bin are rewritten to where it went. The systemd unit: /lib/systemd/system for PREFIX=/usr
# (a package, Debian policy), else $(PREFIX)/lib/systemd/system, which systemd also reads
# (/usr/local/lib/systemd/system for a local install); UNITDIR overrides either.
PREFIX ?= /usr/local
DESTDIR ?=
GOOS ?= $(shell uname -s | tr A-Z a-z)
GOARCH ?= $(shell $(GO) env GOARCH)
SBINDIR ?= $(PREFIX)/sbin
ifeq ($(GOOS),freebsd)
MANDIR ?= $(PREFIX)/man
RCDIR ?= $(PREFIX)/etc/rc.d
EXAMPLE ?= $(PREFIX)/etc/vault.toml.sample
CONFIG ?= $(PREFIX)/etc/vault.toml
else
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
EXAMPLE ?= $(PREFIX)/share/doc/vault/vault.toml.example
CONFIG ?= /etc/vault/vault.toml
endif
INSTALL ?= install

bin/vault-$(GOOS)-$(GOARCH): FORCE
	GOOS=$(GOOS) GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/vault

FORCE:

install: bin/vault-$(GOOS)-$(GOARCH)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(dir $(EXAMPLE))
	$(INSTALL) -m 0755 bin/vault-$(GOOS)-$(GOARCH) $(DESTDIR)$(SBINDIR)/vault
	$(INSTALL) -m 0644 man/vault.8 $(DESTDIR)$(MANDIR)/man8/vault.8
	$(INSTALL) -m 0644 man/vault.toml.5 $(DESTDIR)$(MANDIR)/man5/vault.toml.5
	$(INSTALL) -m 0644 dist/vault.toml.example $(DESTDIR)$(EXAMPLE)
ifeq ($(GOOS),freebsd)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(RCDIR)
	sed -e 's|/usr/local/sbin/vault|$(SBINDIR)/vault|' -e 's|/usr/local/etc/vault.toml|$(CONFIG)|' dist/vault.rc >bin/vault.rc
	$(INSTALL) -m 0555 bin/vault.rc $(DESTDIR)$(RCDIR)/vault
	$(INSTALL) -d -m 0755 $(DESTDIR)$(PREFIX)/etc/periodic/daily
	sed -e 's|/usr/local/sbin/vault|$(SBINDIR)/vault|' -e 's|/usr/local/etc/vault.toml|$(CONFIG)|' dist/vault.periodic >bin/vault.periodic
	$(INSTALL) -m 0555 bin/vault.periodic $(DESTDIR)$(PREFIX)/etc/periodic/daily/450.vault
else
	$(INSTALL) -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/local/sbin/vault|$(SBINDIR)/vault|' -e 's|/etc/vault/vault.toml|$(CONFIG)|' dist/vault.service >bin/vault.service
	$(INSTALL) -m 0644 bin/vault.service $(DESTDIR)$(UNITDIR)/vault.service
endif
	@echo "installed; the configuration is yours to write: cp $(EXAMPLE) $(CONFIG) (make install never touches it)"

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vault $(DESTDIR)$(MANDIR)/man8/vault.8 $(DESTDIR)$(MANDIR)/man5/vault.toml.5 $(DESTDIR)$(EXAMPLE)
ifeq ($(GOOS),freebsd)
	rm -f $(DESTDIR)$(RCDIR)/vault $(DESTDIR)$(PREFIX)/etc/periodic/daily/450.vault
else
	rm -f $(DESTDIR)$(UNITDIR)/vault.service
endif

# make package: bin/vault_VERSION_ARCH.deb for Linux GOARCH (default the host's), with only the
# Debian toolchain (dpkg-deb), from `make install DESTDIR=stage PREFIX=/usr`. Nothing under /etc
# (no conffiles), no maintainer scripts: installing it enables and starts nothing.
# The version: git describe without a leading v, "-" as "+" ("1.2-3-gabc" -> "1.2+3+gabc"),
# prefixed "0~git" unless it starts with a tag "N." (no tag yet: "0~git5fc7c60").
DEB_VERSION := $(shell echo '$(VERSION)' | sed -e 's/^v//' -e 's/-/+/g' -e '/^[0-9][0-9]*\./!s/^/0~git/')
DEB_ARCH_386 := i386
DEB_ARCH_arm := armhf
DEB_ARCH := $(or $(DEB_ARCH_$(GOARCH)),$(GOARCH))
DEB := bin/vault_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_STAGE := bin/deb-stage

package:
	rm -rf $(DEB_STAGE)
	$(MAKE) install GOOS=linux GOARCH=$(GOARCH) PREFIX=/usr DESTDIR=$(CURDIR)/$(DEB_STAGE)
	gzip -9n $(DEB_STAGE)/usr/share/man/man8/vault.8 $(DEB_STAGE)/usr/share/man/man5/vault.toml.5
	$(INSTALL) -m 0644 dist/debian/copyright $(DEB_STAGE)/usr/share/doc/vault/copyright
	printf 'vault ($(DEB_VERSION)) unstable; urgency=medium\n\n  * Built from git $(VERSION).\n\n -- %s  %s\n' \
		"$$(sed -n 's/^Maintainer: //p' dist/debian/control)" "$$(date -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))" | \
		gzip -9n >$(DEB_STAGE)/usr/share/doc/vault/changelog.Debian.gz
	$(INSTALL) -d -m 0755 $(DEB_STAGE)/DEBIAN
	sed -e 's/@VERSION@/$(DEB_VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' \
		-e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEB_STAGE) | cut -f1)/" dist/debian/control >$(DEB_STAGE)/DEBIAN/control
	dpkg-deb --build --root-owner-group $(DEB_STAGE) $(DEB)
	@echo "built $(DEB)"
